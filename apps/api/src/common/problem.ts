import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import type { ErrorClass } from '@berth/domain';

/** A domain error as it is kept on an operation or a container. */
@ApiSchema({ name: 'ErrorInfo' })
export class ErrorDto {
  @ApiProperty({ example: 'NotFound', description: 'The error class' }) class: string;
  @ApiProperty({ example: 'ImageNotFound', description: 'A stable reason code' }) reason: string;
  @ApiProperty({ example: 'image docker.io/library/nope:latest is not on host h1; load it first' }) message: string;
}

@ApiSchema({ name: 'FieldViolation' })
export class FieldViolationDto {
  @ApiProperty({ example: 'cmd' }) field: string;
  @ApiProperty({ example: 'each value in cmd must be a string' }) message: string;
}

/** RFC 9457 problem details, the body of every error. */
@ApiSchema({ name: 'Problem' })
export class ProblemDto {
  @ApiProperty({ example: 'https://berth.dev/problems/invalid-argument' }) type: string;
  @ApiProperty({ example: 'Invalid argument' }) title: string;
  @ApiProperty({ example: 400 }) status: number;
  @ApiProperty({ example: 'cmd must be an array of strings' }) detail: string;
  @ApiPropertyOptional({ example: 'InvalidArgument' }) class?: string;
  @ApiPropertyOptional({ description: 'A stable reason code', example: 'InvalidReference' }) reason?: string;
  @ApiPropertyOptional() instance?: string;
  @ApiPropertyOptional() requestId?: string;
  @ApiPropertyOptional({ type: [FieldViolationDto] }) errors?: FieldViolationDto[];
}

export const STATUS_BY_CLASS: Record<ErrorClass, number> = {
  InvalidArgument: 400,
  Unauthenticated: 401,
  PermissionDenied: 403,
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  FailedPrecondition: 409,
  Unavailable: 503,
  Internal: 500,
};

export const TITLE_BY_STATUS: Record<number, string> = {
  400: 'Invalid argument',
  401: 'Unauthenticated',
  403: 'Permission denied',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  500: 'Internal error',
  503: 'Unavailable',
};

export function problemType(status: number): string {
  return `https://berth.dev/problems/${(TITLE_BY_STATUS[status] ?? 'error').toLowerCase().replace(/ /g, '-')}`;
}
