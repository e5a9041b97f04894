import { BerthProblem } from './problem';

/** How a follower (logs, events) tries again after its connection dropped. */
export interface ReconnectOptions {
  /** Attempts in a row before the follower gives up and throws the last error (`Infinity` never gives up). */
  retries?: number;
  /** The pause before the first attempt; it doubles with each failure in a row. */
  initialDelayMs?: number;
  /** The longest pause. */
  maxDelayMs?: number;
}

/** What a follower tells `onReconnect` before it pauses and connects again. */
export interface ReconnectInfo {
  /** 1 for the first attempt after a success, 2 for the next, … */
  attempt: number;
  /** How long it pauses before connecting. */
  delayMs: number;
  /** Why: the network error, the 5xx problem, or `undefined` when the server closed a stream that should have stayed open. */
  error: unknown;
}

/** The pause before attempt `attempt` (1-based): doubling from `initialDelayMs`, at most `maxDelayMs`, at least what a 503's Retry-After asked for. */
export function reconnectDelay(attempt: number, options: Required<ReconnectOptions>, error?: unknown): number {
  const backoff = Math.min(options.initialDelayMs * 2 ** Math.max(0, attempt - 1), options.maxDelayMs);
  const asked = error instanceof BerthProblem && error.retryAfter !== undefined ? error.retryAfter * 1000 : 0;
  return Math.max(backoff, Math.min(asked, options.maxDelayMs));
}

/**
 * Whether a failed request or read is worth another attempt: network errors
 * (fetch rejects them as TypeErrors, whichever realm they come from) and the
 * 502/503/504 answers of a host or proxy that is briefly away. Other problems
 * (401, 404, 400 …) would only fail again.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof BerthProblem) return error.status === 502 || error.status === 503 || error.status === 504;
  return errorName(error) === 'TypeError' || typeof (error as { code?: unknown } | null)?.code === 'string';
}

/** True when `error` is what fetch throws for an aborted request, or the signal has fired. */
export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || errorName(error) === 'AbortError';
}

/** An error's name, without `instanceof`: fetch's errors may come from another realm (a test runner's sandbox). */
function errorName(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

/** Resolves after `ms`, or at once when `signal` fires (the caller checks `signal.aborted`). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The options with their defaults filled in. */
export function reconnectSettings(options: ReconnectOptions | false | undefined, defaults: Required<ReconnectOptions>): Required<ReconnectOptions> {
  if (options === false) return { ...defaults, retries: 0 };
  return {
    retries: options?.retries ?? defaults.retries,
    initialDelayMs: options?.initialDelayMs ?? defaults.initialDelayMs,
    maxDelayMs: options?.maxDelayMs ?? defaults.maxDelayMs,
  };
}
