import { DataSource, DataSourceOptions } from 'typeorm';
import { ENTITIES } from '@berth/domain';
import { InitialSchema1763900000000 } from './1763900000000-initial-schema';
import { TeamPolicy1763990000000 } from './1763990000000-team-policy';
import { RestartCount1764000000000 } from './1764000000000-restart-count';
import { ContainerHealth1764010000000 } from './1764010000000-container-health';
import { RegistriesAndPulls1764020000000 } from './1764020000000-registries-and-pulls';
import { Volumes1764030000000 } from './1764030000000-volumes';
import { Networks1764040000000 } from './1764040000000-networks';
import { NetworkOverlay1764050000000 } from './1764050000000-network-overlay';

/** Every migration, in order. The schema changes only through these. */
export const MIGRATIONS = [
  InitialSchema1763900000000,
  TeamPolicy1763990000000,
  RestartCount1764000000000,
  ContainerHealth1764010000000,
  RegistriesAndPulls1764020000000,
  Volumes1764030000000,
  Networks1764040000000,
  NetworkOverlay1764050000000,
];

export interface DatabaseConfig {
  /** `postgres://…` for PostgreSQL; otherwise SQLite at `sqlitePath`. */
  url?: string;
  sqlitePath: string;
}

export function dataSourceOptions(config: DatabaseConfig): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    logging: false as const,
  };
  if (config.url && /^postgres(ql)?:/.test(config.url)) {
    return { ...common, type: 'postgres', url: config.url };
  }
  return {
    ...common,
    type: 'sqlite',
    database: config.sqlitePath,
    // WAL lets readers run beside the writer; wait instead of failing on a busy lock.
    // (The driver turns foreign keys on by itself.)
    enableWAL: true,
    busyTimeout: 5000,
  };
}

/**
 * TypeORM's SQLite driver runs everything on one connection, so two transactions
 * in flight at once would interleave their statements (and one's COMMIT would end
 * the other's). On SQLite, transactions therefore take turns; PostgreSQL's pool
 * gives each its own connection and needs no such care.
 */
export function serializeSqliteTransactions(ds: DataSource): DataSource {
  if (ds.options.type !== 'sqlite') return ds;
  const manager = ds.manager;
  const original = manager.transaction.bind(manager) as (...args: unknown[]) => Promise<unknown>;
  let tail: Promise<unknown> = Promise.resolve();
  (manager as { transaction: unknown }).transaction = (...args: unknown[]) => {
    const run = tail.then(
      () => original(...args),
      () => original(...args),
    );
    tail = run.catch(() => undefined);
    return run;
  };
  return ds;
}

export async function initializeDataSource(options: DataSourceOptions): Promise<DataSource> {
  return serializeSqliteTransactions(await new DataSource(options).initialize());
}

export async function openDatabase(config: DatabaseConfig): Promise<DataSource> {
  const ds = await initializeDataSource(dataSourceOptions(config));
  await ds.runMigrations({ transaction: 'each' });
  return ds;
}
