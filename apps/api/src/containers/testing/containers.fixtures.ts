import { Container } from '@berth/domain';
import { TEAM_AUTH } from '../../testing/controller-harness';

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
