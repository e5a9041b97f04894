import { z } from 'zod';

/**
 * One error taxonomy for every layer. Nothing below a controller throws an HTTP
 * exception: the API maps these once (problem+json), the worker maps them once
 * (Unavailable → retry with backoff, the rest → unrecoverable).
 */
export const ErrorClass = [
  'InvalidArgument',
  'NotFound',
  'AlreadyExists',
  'Conflict',
  'FailedPrecondition',
  'PermissionDenied',
  'Unauthenticated',
  'Unavailable',
  'Internal',
] as const;
export type ErrorClass = (typeof ErrorClass)[number];

export interface FieldViolation {
  field: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly errorClass: ErrorClass;
  /** A stable, machine-readable reason, e.g. `ImageNotFound`. */
  readonly reason: string;

  constructor(message: string, reason?: string) {
    super(message);
    this.name = new.target.name;
    this.reason = reason ?? new.target.name;
  }

  toJSON(): SerializedError {
    return { class: this.errorClass, reason: this.reason, message: this.message };
  }
}

export class InvalidArgumentError extends DomainError {
  readonly errorClass = 'InvalidArgument' as const;
  constructor(
    message: string,
    readonly violations: FieldViolation[] = [],
    reason?: string,
  ) {
    super(message, reason);
  }
}
export class NotFoundError extends DomainError {
  readonly errorClass = 'NotFound' as const;
}
export class AlreadyExistsError extends DomainError {
  readonly errorClass = 'AlreadyExists' as const;
}
export class ConflictError extends DomainError {
  readonly errorClass = 'Conflict' as const;
}
export class FailedPreconditionError extends DomainError {
  readonly errorClass = 'FailedPrecondition' as const;
}
export class PermissionDeniedError extends DomainError {
  readonly errorClass = 'PermissionDenied' as const;
}
export class UnauthenticatedError extends DomainError {
  readonly errorClass = 'Unauthenticated' as const;
}
export class UnavailableError extends DomainError {
  readonly errorClass = 'Unavailable' as const;
}
export class InternalError extends DomainError {
  readonly errorClass = 'Internal' as const;
}

/** How an error travels between processes (job results, reports, operations). */
export const SerializedErrorSchema = z.object({
  class: z.enum(ErrorClass),
  reason: z.string().max(256),
  message: z.string().max(64 * 1024),
});
export type SerializedError = z.infer<typeof SerializedErrorSchema>;

const constructors: Record<ErrorClass, new (message: string) => DomainError> = {
  InvalidArgument: InvalidArgumentError,
  NotFound: NotFoundError,
  AlreadyExists: AlreadyExistsError,
  Conflict: ConflictError,
  FailedPrecondition: FailedPreconditionError,
  PermissionDenied: PermissionDeniedError,
  Unauthenticated: UnauthenticatedError,
  Unavailable: UnavailableError,
  Internal: InternalError,
};

export function serializeError(err: unknown): SerializedError {
  if (err instanceof DomainError) return err.toJSON();
  const message = err instanceof Error ? err.message : String(err);
  return { class: 'Internal', reason: 'Internal', message };
}

export function deserializeError(e: SerializedError): DomainError {
  const Ctor = constructors[e.class] ?? InternalError;
  const err = new Ctor(e.message);
  (err as { reason: string }).reason = e.reason;
  return err;
}
