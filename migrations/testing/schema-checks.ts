import { DataSource } from 'typeorm';
import { Container, Operation, Team, newId } from '@berth/domain';

/** The SQL TypeORM would still run to make the schema match the entities: none when migrations and entities agree. */
export async function pendingSchemaChanges(ds: DataSource): Promise<string[]> {
  const log = await ds.driver.createSchemaBuilder().log();
  return log.upQueries.map((q) => q.query);
}

/** Writes and reads back rows with every column kind (JSON, timestamps, booleans, bigints). */
export async function roundTrip(ds: DataSource): Promise<{ container: Container; operation: Operation }> {
  const team = Object.assign(new Team(), {
    id: newId('team'),
    name: `t-${Date.now()}`,
    admin: false,
    createdAt: new Date('2026-01-02T03:04:05.678Z'),
    policy: { allowPrivileged: true, allowedCapabilities: ['NET_ADMIN'] },
  });
  await ds.getRepository(Team).insert(team);
  await ds.query(
    ds.options.type === 'postgres'
      ? `INSERT INTO hosts VALUES ($1, $2, 'h1', 'ready', '{}', now(), now())`
      : `INSERT INTO hosts VALUES (?, ?, 'h1', 'ready', '{}', datetime('now'), datetime('now'))`,
    ['host_x', team.id],
  );
  const id = newId('container');
  await ds.getRepository(Container).insert({
    id,
    teamId: team.id,
    name: 'c1',
    hostId: 'host_x',
    spec: {
      name: 'c1',
      image: 'docker.io/library/busybox:latest',
      env: ['A=1'],
      labels: { app: 'web' },
      cmd: ['true'],
      resources: { memoryBytes: 67108864, ulimits: [{ name: 'nofile', soft: 100, hard: 200 }] },
    },
    desiredState: 'running',
    generation: 1,
    status: 'pending',
    exitCode: null,
    pid: null,
    oomKilled: true,
    restartCount: 2,
    error: { class: 'NotFound', reason: 'ImageNotFound', message: 'x' },
    reportSeq: 1763900000000123,
    startedAt: new Date('2026-01-02T03:04:05.678Z'),
    finishedAt: null,
    createdAt: new Date(),
    updatedAt: new Date(),
  });
  const opId = newId('operation');
  await ds.getRepository(Operation).insert({
    id: opId,
    teamId: team.id,
    kind: 'container.create',
    targetKind: 'container',
    targetId: id,
    hostId: 'host_x',
    status: 'queued',
    error: null,
    job: { name: 'container.converge', queue: 'berth-host-h1', payload: { a: [1, 2] } },
    result: null,
    createdAt: new Date(),
    enqueuedAt: null,
    startedAt: null,
    finishedAt: null,
  });
  return {
    container: await ds.getRepository(Container).findOneByOrFail({ id }),
    operation: await ds.getRepository(Operation).findOneByOrFail({ id: opId }),
  };
}

export function expectRoundTrip({ container, operation }: { container: Container; operation: Operation }): void {
  expect(container.spec.labels).toEqual({ app: 'web' });
  expect(container.spec.resources).toEqual({ memoryBytes: 67108864, ulimits: [{ name: 'nofile', soft: 100, hard: 200 }] });
  expect(container.oomKilled).toBe(true);
  expect(container.restartCount).toBe(2);
  expect(container.error?.reason).toBe('ImageNotFound');
  expect(container.reportSeq).toBe(1763900000000123);
  expect(container.startedAt?.toISOString()).toBe('2026-01-02T03:04:05.678Z');
  expect(container.version).toBe(1);
  expect(operation.job.payload).toEqual({ a: [1, 2] });
  expect(operation.enqueuedAt).toBeNull();
}
