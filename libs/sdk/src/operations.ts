import type { BerthClient } from './client';
import { waitOperation } from './generated/sdk.gen';
import type { ErrorInfo, Operation, OperationStatus } from './generated/types.gen';

/** An operation, its id, or a 202 answer that carries one (`{ container, operation }`). */
export type OperationRef = string | Operation | { operation: Operation };

export interface WaitForOperationOptions {
  /** How long to wait in all before {@link BerthOperationTimeout} is thrown; 5 minutes by default, `Infinity` for no limit. */
  timeoutMs?: number;
  /** The longest single long-poll, in seconds (1–300); 30 by default. Each round asks for at most what is left before the deadline. */
  roundSeconds?: number;
  /** Aborts the wait: the request in flight is cancelled and the signal's reason (an `AbortError`) is thrown. */
  signal?: AbortSignal;
  /**
   * Throw {@link BerthOperationFailed} when the operation failed (the default), or
   * answer the failed Operation and let the caller read its `error`.
   */
  throwOnFailure?: boolean;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_ROUND_SECONDS = 30;
/** What setTimeout can count to; a longer wait has no timer. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** True for the statuses an operation ends in: `succeeded` and `failed`. */
export function isOperationFinished(status: OperationStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}

/** An operation ended `failed`: `operation.error` says why (`class`, `reason`, `message`). */
export class BerthOperationFailed extends Error {
  readonly operation: Operation;
  /** The error the operation recorded; absent only if the server recorded none. */
  readonly error?: ErrorInfo;
  /** The stable reason code (`ImageNotFound`, `HostUnavailable`, …): branch on this. */
  readonly reason?: string;
  /** The error class (`NotFound`, `Unavailable`, …). */
  readonly errorClass?: string;

  constructor(operation: Operation) {
    const error = operation.error ?? undefined;
    super(`operation ${operation.id} (${operation.kind}) failed${error ? `: ${error.reason}: ${error.message}` : ''}`);
    this.name = 'BerthOperationFailed';
    this.operation = operation;
    this.error = error;
    this.reason = error?.reason;
    this.errorClass = error?.class;
  }
}

/** The deadline of {@link waitForOperation} passed before the operation finished. */
export class BerthOperationTimeout extends Error {
  readonly operationId: string;
  /** The operation as last seen (queued or running), if any answer came before the deadline. */
  readonly operation?: Operation;
  readonly timeoutMs: number;

  constructor(operationId: string, timeoutMs: number, operation?: Operation) {
    super(`operation ${operationId} did not finish within ${timeoutMs} ms${operation ? ` (still ${operation.status})` : ''}`);
    this.name = 'BerthOperationTimeout';
    this.operationId = operationId;
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

export function isBerthOperationFailed(error: unknown, reason?: string): error is BerthOperationFailed {
  return error instanceof BerthOperationFailed && (reason === undefined || error.reason === reason);
}

/**
 * Waits until an operation has finished and answers it: long-polls
 * `GET /v1/operations/{id}/wait` in rounds of at most `roundSeconds` until its
 * status is `succeeded` or `failed`.
 *
 * Throws {@link BerthOperationFailed} for a failed operation (unless
 * `throwOnFailure: false`), {@link BerthOperationTimeout} at the deadline (the
 * request in flight is cancelled then), and a {@link BerthProblem} for an error
 * answer (404: no such operation in the team). An operation handed in that has
 * already finished is settled without a request.
 *
 * @example
 * const { data } = await createContainer({ client, body: { image: 'alpine', cmd: ['true'] } });
 * const operation = await waitForOperation(client, data, { timeoutMs: 60_000 });
 */
export async function waitForOperation(client: BerthClient, ref: OperationRef, options: WaitForOperationOptions = {}): Promise<Operation> {
  let last: Operation | undefined = typeof ref === 'string' ? undefined : 'operation' in ref ? ref.operation : ref;
  const id = typeof ref === 'string' ? ref : (last as Operation).id;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const roundSeconds = Math.min(300, Math.max(1, Math.floor(options.roundSeconds ?? DEFAULT_ROUND_SECONDS)));
  const settle = (operation: Operation): Operation => {
    if (operation.status === 'failed' && options.throwOnFailure !== false) throw new BerthOperationFailed(operation);
    return operation;
  };
  if (last && isOperationFinished(last.status)) return settle(last);

  const deadlineAt = Date.now() + timeoutMs;
  const deadline = new AbortController();
  const timer = timeoutMs <= MAX_TIMER_MS ? setTimeout(() => deadline.abort(), Math.max(0, timeoutMs)) : undefined;
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  try {
    for (;;) {
      const left = deadlineAt - Date.now();
      if (left <= 0) throw new BerthOperationTimeout(id, timeoutMs, last);
      try {
        const timeout = Math.min(roundSeconds, Math.ceil(left / 1000));
        ({ data: last } = await waitOperation({ client, path: { id }, query: { timeout }, signal }));
      } catch (error) {
        if (deadline.signal.aborted && !options.signal?.aborted) throw new BerthOperationTimeout(id, timeoutMs, last);
        throw error;
      }
      if (isOperationFinished(last.status)) return settle(last);
    }
  } finally {
    clearTimeout(timer);
  }
}
