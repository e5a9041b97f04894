import { DataSource } from 'typeorm';
import { Container, Host, Operation, Team, newId } from '@berth/domain';
import type { NewOperation } from '../../operations/operations.service';
import { TEAM_AUTH } from '../../testing/controller-harness';

/** A container row of `team` on `host`, running unless told otherwise; for specs. */
export async function seedContainer(db: DataSource, team: Team, host: Host, changes: Partial<Container> = {}): Promise<Container> {
  const now = new Date();
  const name = changes.name ?? `c-${newId('container').slice(-8)}`;
  const container = Object.assign(new Container(), {
    id: newId('container'),
    teamId: team.id,
    name,
    hostId: host.id,
    spec: { name, image: 'docker.io/library/busybox:latest', env: [], labels: {} },
    desiredState: 'running',
    generation: 1,
    status: 'running',
    exitCode: null,
    pid: 42,
    oomKilled: false,
    restartCount: 0,
    health: null,
    error: null,
    reportSeq: 0,
    startedAt: now,
    finishedAt: null,
    createdAt: now,
    updatedAt: now,
    ...changes,
  });
  await db.getRepository(Container).insert(container);
  return db.getRepository(Container).findOneByOrFail({ id: container.id });
}

/** What a mocked OperationsService.insert answers: the operation it was asked to write. */
export function operationOf(input: NewOperation): Operation {
  return Object.assign(new Operation(), {
    id: input.id ?? newId('operation'),
    teamId: input.teamId,
    kind: input.kind,
    targetKind: input.targetKind,
    targetId: input.targetId,
    hostId: input.hostId,
    status: 'queued',
    error: null,
    job: input.job,
    result: null,
    progress: null,
    createdAt: new Date(),
    enqueuedAt: null,
    startedAt: null,
    finishedAt: null,
  } satisfies Operation);
}

/** A running container of the harness's team, for controller specs (no database). */
export function containerOfTeam(changes: Partial<Container> = {}): Container {
  return Object.assign(new Container(), {
    id: 'ctr_01jd8x6w3q0000000000000000',
    teamId: TEAM_AUTH.teamId,
    name: 'web',
    hostId: 'host_01jd8x6w3q0000000000000000',
    spec: { name: 'web', image: 'docker.io/library/busybox:latest', env: [], labels: {} },
    desiredState: 'running',
    generation: 1,
    status: 'running',
    exitCode: null,
    pid: 42,
    oomKilled: false,
    restartCount: 0,
    health: null,
    error: null,
    reportSeq: 0,
    startedAt: null,
    finishedAt: null,
    createdAt: new Date('2026-12-01T10:00:00.000Z'),
    updatedAt: new Date('2026-12-01T10:00:00.000Z'),
    version: 1,
    ...changes,
  } satisfies Container);
}
