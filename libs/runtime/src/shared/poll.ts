/** Small waiting helpers; every loop built on them is bounded in time and in count. */

/** Resolves after `ms`, or at once when the signal aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface PollOptions {
  timeoutMs: number;
  intervalMs: number;
  signal?: AbortSignal;
}

/** Checks until the check passes (→ true) or the time runs out or the signal aborts (→ false). */
export async function pollUntil(check: () => Promise<boolean>, options: PollOptions): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  const maxRounds = Math.ceil(options.timeoutMs / Math.max(1, options.intervalMs)) + 1;
  for (let round = 0; round <= maxRounds; round++) {
    if (await check()) return true;
    const remaining = deadline - Date.now();
    if (remaining <= 0 || options.signal?.aborted) return false;
    await sleep(Math.min(options.intervalMs, remaining), options.signal);
  }
  return check();
}
