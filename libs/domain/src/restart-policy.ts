import type { RestartPolicy } from './container-spec';

export interface ExitFacts {
  exitCode: number;
  /** Restarts made so far under the policy. */
  restartCount: number;
  /** The user stopped the container (a stop, or a delete, was asked for). */
  stoppedByUser: boolean;
}

/** Whether a container that exited is started again, with Docker's rules. */
export function shouldRestart(policy: RestartPolicy | undefined, exit: ExitFacts): boolean {
  if (!policy || exit.stoppedByUser) return false;
  switch (policy.name) {
    case 'no':
      return false;
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return exit.exitCode !== 0 && (!policy.maxRetries || exit.restartCount < policy.maxRetries);
  }
}

/** Docker's backoff: 100 ms, doubling with every restart, at most a minute. */
export function restartDelayMs(restartCount: number): number {
  return Math.min(100 * 2 ** Math.min(restartCount, 20), 60_000);
}
