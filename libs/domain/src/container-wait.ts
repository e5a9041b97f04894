import type { ContainerStatus } from './container-state';
import type { Container } from './entities';
import type { SerializedError } from './errors';

/** What a wait on a container waits for. */
export const WaitCondition = ['not-running', 'exited', 'running', 'healthy', 'removed'] as const;
export type WaitCondition = (typeof WaitCondition)[number];

export interface WaitOutcome {
  /** The wait is over: the condition was met, or the container can no longer meet it. */
  done: boolean;
  met: boolean;
  condition: WaitCondition;
  status: ContainerStatus | 'removed';
  exitCode: number | null;
  error: SerializedError | null;
}

/** Whether a wait is over, and whether its condition was met (a container that can never meet it ends the wait too); `null` is a container that is gone. */
export function waitOutcome(
  c: Pick<Container, 'status' | 'desiredState' | 'exitCode' | 'error' | 'health' | 'spec'> | null,
  condition: WaitCondition,
): WaitOutcome {
  if (!c) return { done: true, met: condition === 'removed', condition, status: 'removed', exitCode: null, error: null };
  const base = { condition, status: c.status, exitCode: c.exitCode, error: c.error };
  const notRunning = c.status === 'exited' || c.status === 'failed' || (c.status === 'created' && c.desiredState === 'stopped');
  switch (condition) {
    case 'running':
      return { ...base, done: c.status === 'running' || c.status === 'failed', met: c.status === 'running' };
    case 'healthy': {
      const healthy = c.status === 'running' && c.health?.status === 'healthy';
      // Over when healthy, unhealthy, or no longer running (or never checked).
      const over =
        healthy || c.health?.status === 'unhealthy' || c.status === 'exited' || c.status === 'failed' || (c.status === 'running' && !c.spec.healthcheck);
      return { ...base, done: over, met: healthy };
    }
    case 'exited':
      return { ...base, done: c.status === 'exited' || c.status === 'failed', met: c.status === 'exited' };
    case 'not-running':
      return { ...base, done: notRunning, met: notRunning };
    case 'removed':
      return { ...base, done: false, met: false };
  }
}
