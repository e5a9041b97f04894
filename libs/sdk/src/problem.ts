import type { FieldViolation, Problem } from './generated/types.gen';

/**
 * An error answer of the Berth API (RFC 9457 problem details), thrown by every
 * call of the SDK: `status`, `type`, `title`, `detail`, the stable `reason`, the
 * field errors of a 400, and the request id to quote when asking for help.
 */
export class BerthProblem extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  /** The error class (`InvalidArgument`, `NotFound`, `Conflict`, …). */
  readonly errorClass?: string;
  /** A stable reason code (`ContainerNotFound`, `ImageNotFound`, …): branch on this. */
  readonly reason?: string;
  /** Each field a 400 found wrong, by name. */
  readonly errors: FieldViolation[];
  readonly requestId?: string;
  /** Seconds the server asked to wait before trying again (503). */
  readonly retryAfter?: number;
  /** The body as sent. */
  readonly problem: Partial<Problem>;

  constructor(status: number, problem: Partial<Problem>, headers?: Headers) {
    const title = problem.title ?? `HTTP ${status}`;
    super(problem.detail ? `${title}: ${problem.detail}` : title);
    this.name = 'BerthProblem';
    this.status = status;
    this.type = problem.type ?? 'about:blank';
    this.title = title;
    this.detail = problem.detail ?? '';
    this.errorClass = problem.class;
    this.reason = problem.reason;
    this.errors = problem.errors ?? [];
    this.requestId = problem.requestId ?? headers?.get('x-request-id') ?? undefined;
    const retryAfter = Number(headers?.get('retry-after') ?? NaN);
    this.retryAfter = Number.isFinite(retryAfter) ? retryAfter : undefined;
    this.problem = problem;
  }

  /** The message of the field named `field`, if the server found it wrong. */
  fieldError(field: string): string | undefined {
    return this.errors.find((e) => e.field === field)?.message;
  }

  /** What the client's error interceptor throws for an error answer. */
  static fromResponse(body: unknown, response: Response): BerthProblem {
    if (body && typeof body === 'object' && !Array.isArray(body)) return new BerthProblem(response.status, body as Partial<Problem>, response.headers);
    const detail = typeof body === 'string' ? body.slice(0, 500) : '';
    return new BerthProblem(response.status, { status: response.status, title: response.statusText || `HTTP ${response.status}`, detail }, response.headers);
  }
}

export function isBerthProblem(error: unknown, reason?: string): error is BerthProblem {
  return error instanceof BerthProblem && (reason === undefined || error.reason === reason);
}
