import { Container } from '@berth/domain';
import { changesFromObserved, containerEvents } from './container-observations';

const before = Object.assign(new Container(), {
  id: 'ctr_1',
  teamId: 'team_1',
  name: 'web',
  hostId: 'host_1',
  spec: { name: 'web', image: 'nginx', env: [], labels: {} },
  desiredState: 'running' as const,
  generation: 1,
  status: 'running' as const,
  exitCode: null,
  pid: 10,
  oomKilled: false,
  restartCount: 0,
  health: { status: 'healthy', failingStreak: 0 } as Container['health'],
  error: null,
  reportSeq: 1,
  startedAt: new Date('2026-12-01T10:00:00.000Z'),
  finishedAt: null,
  createdAt: new Date('2026-12-01T09:00:00.000Z'),
  updatedAt: new Date('2026-12-01T10:00:00.000Z'),
  version: 4,
});

describe('changesFromObserved', () => {
  const now = new Date('2026-12-01T11:00:00.000Z');

  it('keeps the health verdict while running and clears it when the process ends', () => {
    expect(changesFromObserved(before, 'running', 2, { status: 'running', pid: 11 }, now)).toMatchObject({ health: before.health, pid: 11, finishedAt: null });
    expect(changesFromObserved(before, 'exited', 2, { status: 'exited', exitCode: 0, finishedAt: now.toISOString() }, now)).toMatchObject({
      health: null,
      pid: null,
      exitCode: 0,
      finishedAt: now,
    });
  });

  it('takes the report’s sequence, bumps the version and keeps what the report does not say', () => {
    expect(changesFromObserved(before, 'paused', 7, { status: 'paused' }, now)).toEqual({
      status: 'paused',
      reportSeq: 7,
      exitCode: null,
      pid: null,
      oomKilled: false,
      restartCount: 0,
      health: before.health,
      error: null,
      startedAt: before.startedAt,
      finishedAt: null,
      updatedAt: now,
      version: 5,
    });
  });
});

describe('containerEvents', () => {
  it('names a new status, a restart and a new health verdict', () => {
    const after = {
      status: 'exited' as const,
      exitCode: 137,
      oomKilled: true,
      restartCount: 1,
      health: { status: 'unhealthy', failingStreak: 3 } as Container['health'],
    };
    expect(containerEvents(before, after).map((e) => [e.type, e.attributes])).toEqual([
      ['container.exited', { name: 'web', image: 'nginx', exitCode: 137, oomKilled: true }],
      ['container.restarted', { name: 'web', restartCount: 1 }],
      ['container.health_status', { name: 'web', status: 'unhealthy', failingStreak: 3 }],
    ]);
  });

  it('still wakes waiters when nothing they follow changed', () => {
    expect(containerEvents(before, before)).toEqual([{ id: 'ctr_1', teamId: 'team_1', type: 'container.updated' }]);
  });
});
