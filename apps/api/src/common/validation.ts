import { ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldViolation, InvalidArgumentError } from '@berth/domain';

/** Rejects unknown fields and answers with every violation, named by its field path. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    stopAtFirstError: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors) => {
      const violations = flatten(errors);
      const detail = violations.map((v) => v.message).join('; ');
      return new InvalidArgumentError(detail || 'the request is not valid', violations, 'ValidationFailed');
    },
  });
}

function flatten(errors: ValidationError[], parent = ''): FieldViolation[] {
  const out: FieldViolation[] = [];
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    for (const message of Object.values(e.constraints ?? {})) {
      out.push({ field, message: message.replace(/^property (\S+) should not exist$/, `${field} is not a known field`) });
    }
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}
