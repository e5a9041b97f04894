import { DataSource } from 'typeorm';
import { Container, ContainerSpec, Host, HostInfo, Team, newContainer, newId } from '@berth/domain';
import { dataSourceOptions, initializeDataSource } from '../../../../migrations/data-source';
import { Transactions } from '../database/transactions';

/**
 * A fresh in-memory SQLite database with every migration applied: the real schema,
 * the real driver, for repository and service specs. Close it in afterEach/afterAll.
 */
export async function createTestDatabase(): Promise<{ db: DataSource; tx: Transactions }> {
  const db = await initializeDataSource({ ...dataSourceOptions({ sqlitePath: ':memory:' }), migrationsRun: true });
  return { db, tx: new Transactions(db) };
}

/** A team row (not admin unless asked). */
export async function seedTeam(db: DataSource, name = `team-${newId('team').slice(-6)}`, admin = false): Promise<Team> {
  const team = Object.assign(new Team(), { id: newId('team'), name, admin, createdAt: new Date(), policy: null });
  await db.getRepository(Team).insert(team);
  return team;
}

/** A ready host of `team`, with the facts a worker reports. */
export async function seedHost(db: DataSource, team: Team, name = 'h1', info: Partial<HostInfo> = {}): Promise<Host> {
  const now = new Date();
  const host = Object.assign(new Host(), {
    id: newId('host'),
    teamId: team.id,
    name,
    status: 'ready' as const,
    info: { ...testHostInfo(name), ...info },
    lastHeartbeatAt: now,
    createdAt: now,
  });
  await db.getRepository(Host).insert(host);
  return host;
}

export function testHostInfo(name: string): HostInfo {
  return {
    name,
    cpus: 2,
    memoryBytes: 4 * 1024 ** 3,
    kernel: '6.1.0',
    os: 'linux',
    arch: 'amd64',
    runtime: 'runc',
    runcVersion: '1.1.5',
    conmonVersion: '2.1.6',
    cgroupVersion: 1,
    workerVersion: '0.1.0',
    startedAt: new Date().toISOString(),
  };
}

/** What a spec may set on a seeded container; `spec` is merged over a minimal busybox spec. */
export type ContainerSeed = Partial<Omit<Container, 'spec'>> & { spec?: Partial<ContainerSpec> };

/** A container row of `team` on `host`, running unless told otherwise (other features read its name, spec, ports and mounts). */
export async function seedContainer(db: DataSource, team: Team, host: Host, seed: ContainerSeed = {}): Promise<Container> {
  const now = new Date();
  const { spec, ...changes } = seed;
  const name = changes.name ?? `c-${newId('container').slice(-8)}`;
  const fresh = newContainer(
    {
      id: newId('container'),
      teamId: team.id,
      name,
      hostId: host.id,
      spec: { name, image: 'docker.io/library/busybox:latest', env: [], labels: {}, ...spec },
      desiredState: 'running',
    },
    now,
  );
  const row = Object.assign(fresh, { status: 'running' as const }, changes);
  await db.getRepository(Container).insert(row);
  return db.getRepository(Container).findOneByOrFail({ id: row.id });
}
