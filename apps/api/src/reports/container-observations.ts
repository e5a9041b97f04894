import { Container, ContainerStatus, ObservedContainer } from '@berth/domain';
import { PendingEvent } from './report-outcome';

export type ObservedChanges = Pick<
  Container,
  'status' | 'reportSeq' | 'exitCode' | 'pid' | 'oomKilled' | 'restartCount' | 'health' | 'error' | 'startedAt' | 'finishedAt' | 'updatedAt' | 'version'
>;

/** What a worker's observation (report number `seq`) changes in a container's row, once its status is known to go on to `next`. */
export function changesFromObserved(c: Container, next: ContainerStatus, seq: number, observed: ObservedContainer, now = new Date()): ObservedChanges {
  return {
    status: next,
    reportSeq: seq,
    exitCode: observed.exitCode ?? (observed.status === 'running' ? null : c.exitCode),
    pid: observed.status === 'running' ? (observed.pid ?? null) : null,
    oomKilled: observed.oomKilled ?? false,
    restartCount: observed.restartCount ?? c.restartCount,
    // A health verdict holds for one start: kept while running, cleared when the process ends.
    health: observed.health ?? (observed.status === 'running' || observed.status === 'paused' ? c.health : null),
    error: observed.error ?? null,
    startedAt: observed.startedAt ? new Date(observed.startedAt) : c.startedAt,
    finishedAt: observed.status === 'running' ? null : observed.finishedAt ? new Date(observed.finishedAt) : c.finishedAt,
    updatedAt: now,
    version: c.version + 1,
  };
}

/**
 * What a report changed, as events people can follow: a new status, a restart by
 * the policy, a new health verdict. A report that changed none of these still
 * wakes whoever waits on the container.
 */
export function containerEvents(before: Container, after: Pick<Container, 'status' | 'exitCode' | 'oomKilled' | 'restartCount' | 'health'>): PendingEvent[] {
  const base = { id: before.id, teamId: before.teamId };
  const events: PendingEvent[] = [];
  if (after.status !== before.status) {
    const attributes: Record<string, unknown> = { name: before.name, image: before.spec.image };
    if (after.status === 'exited') Object.assign(attributes, { exitCode: after.exitCode, oomKilled: after.oomKilled });
    events.push({ ...base, type: `container.${after.status}`, attributes });
  }
  if (after.restartCount > before.restartCount)
    events.push({ ...base, type: 'container.restarted', attributes: { name: before.name, restartCount: after.restartCount } });
  if (after.health?.status && after.health.status !== before.health?.status) {
    events.push({
      ...base,
      type: 'container.health_status',
      attributes: { name: before.name, status: after.health.status, failingStreak: after.health.failingStreak },
    });
  }
  return events.length ? events : [{ ...base, type: 'container.updated' }];
}
