import type { ObservedStatus } from './container-spec';
import { ConflictError, FailedPreconditionError } from './errors';

/**
 * The status the API shows. `pending` until a worker has created the container,
 * `removing` between an accepted delete and the worker's confirmation, `failed`
 * when the worker could not create it (the reason is in `error`).
 */
export const ContainerStatus = ['pending', 'created', 'running', 'paused', 'exited', 'removing', 'failed'] as const;
export type ContainerStatus = (typeof ContainerStatus)[number];

/** What the caller asked for; the worker converges the container to it. */
export const DesiredState = ['running', 'stopped', 'removed'] as const;
export type DesiredState = (typeof DesiredState)[number];

export type ContainerAction = 'start' | 'stop' | 'restart' | 'kill' | 'remove' | 'forceRemove' | 'pause' | 'unpause' | 'exec' | 'update' | 'rename' | 'network';

/** Which statuses each action may start from: one table, checked in one place. */
const allowedFrom: Record<ContainerAction, readonly ContainerStatus[]> = {
  start: ['pending', 'created', 'running', 'exited'],
  stop: ['pending', 'created', 'running', 'paused', 'exited'],
  restart: ['created', 'running', 'paused', 'exited'],
  update: ['created', 'running', 'paused', 'exited'],
  network: ['created', 'running', 'paused', 'exited'],
  rename: ['pending', 'created', 'running', 'paused', 'exited', 'failed'],
  kill: ['running', 'paused'],
  remove: ['pending', 'created', 'exited', 'failed'],
  forceRemove: ['pending', 'created', 'running', 'paused', 'exited', 'failed'],
  pause: ['running'],
  unpause: ['paused'],
  exec: ['running'],
};

export function assertActionAllowed(action: ContainerAction, status: ContainerStatus, id: string): void {
  if (allowedFrom[action].includes(status)) return;
  if (status === 'removing') throw new ConflictError(`container ${id} is being removed`, 'ContainerRemoving');
  if (action === 'remove' && status === 'running') {
    throw new ConflictError(`container ${id} is running: stop it first or remove it with force=true`, 'ContainerRunning');
  }
  if (action === 'kill' || action === 'exec' || action === 'pause') {
    throw new FailedPreconditionError(`container ${id} is not running (it is ${status})`, 'ContainerNotRunning');
  }
  if (action === 'unpause') throw new FailedPreconditionError(`container ${id} is not paused (it is ${status})`, 'ContainerNotPaused');
  throw new ConflictError(`cannot ${action} container ${id} while it is ${status}`, 'InvalidTransition');
}

/** How a report from the worker changes the status the API shows. */
export function statusFromObserved(current: ContainerStatus, observed: ObservedStatus): ContainerStatus | 'deleted' {
  if (observed === 'removed') return 'deleted';
  // A delete was accepted: keep showing it until the worker confirms the removal.
  if (current === 'removing') return 'removing';
  return observed;
}

export function isTerminal(status: ContainerStatus): boolean {
  return status === 'exited' || status === 'failed';
}
