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

/**
 * Whether a kill suspends the restart policy until the next start, as `docker kill`
 * does: SIGKILL and the container's stop signal do; a signal a process may handle and
 * live on (SIGUSR1, SIGHUP, …) leaves the policy in place.
 */
export function killSuspendsRestartPolicy(signal: string, stopSignal = 'SIGTERM'): boolean {
  const name = signalName(signal);
  return name === 'KILL' || name === signalName(stopSignal);
}

function signalName(signal: string): string {
  const s = signal.trim().toUpperCase().replace(/^SIG/, '');
  return ({ '9': 'KILL', '15': 'TERM', '2': 'INT', '3': 'QUIT', '1': 'HUP' } as Record<string, string>)[s] ?? s;
}

/** Docker's backoff: 100 ms, doubling with every restart, at most a minute. */
export function restartDelayMs(restartCount: number): number {
  return Math.min(100 * 2 ** Math.min(restartCount, 20), 60_000);
}
