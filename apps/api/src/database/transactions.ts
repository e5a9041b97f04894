import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, EntityTarget, ObjectLiteral, QueryRunner, Repository } from 'typeorm';

/** One transaction in progress: its manager, and what waits for its commit. */
interface UnitOfWork {
  manager?: EntityManager;
  readonly afterCommit: (() => Promise<void> | void)[];
}

/**
 * The unit of work. `run(fn)` runs `fn` in one database transaction; every
 * repository call made inside it, however deep, joins that transaction (the
 * manager travels in AsyncLocalStorage), and a nested `run` joins the outer one.
 * Outside `run`, repositories use the data source directly. `afterCommit(fn)`
 * defers what must only happen once the writes are visible (enqueueing a job,
 * waking listeners) to the commit of the outermost transaction.
 *
 * SQLite has a single connection, so its transactions are connection-wide: one
 * runs at a time, and a query from outside it waits until it ends instead of
 * landing inside it (and being rolled back with it).
 *
 * Only repositories reach the manager: services call `run` and repositories.
 */
@Injectable()
export class Transactions implements OnModuleInit {
  private readonly logger = new Logger('Transactions');
  private readonly current = new AsyncLocalStorage<UnitOfWork>();
  /** SQLite only: the transaction holding the connection, and when it lets go. */
  private holder?: { work: UnitOfWork; done: Promise<void> };
  private gateInstalled = false;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onModuleInit(): void {
    this.installSqliteGate();
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.current.getStore()) return fn();
    const work: UnitOfWork = { afterCommit: [] };
    const result = this.dialect === 'sqlite' ? await this.runAlone(work, fn) : await this.transaction(work, fn);
    for (const task of work.afterCommit) {
      try {
        await task();
      } catch (err) {
        this.logger.warn(`a task after commit failed: ${(err as Error).message}`);
      }
    }
    return result;
  }

  /**
   * Runs `task` once the transaction in progress has committed (never if it rolls
   * back), or now when there is none. A failing task is logged, not thrown: the
   * change it follows is already committed.
   */
  async afterCommit(task: () => Promise<void> | void): Promise<void> {
    const work = this.current.getStore();
    if (work) {
      work.afterCommit.push(task);
      return;
    }
    try {
      await task();
    } catch (err) {
      this.logger.warn(`a task after commit failed: ${(err as Error).message}`);
    }
  }

  /** The repository of an entity, in the transaction in progress if there is one. */
  repository<E extends ObjectLiteral>(entity: EntityTarget<E>): Repository<E> {
    return (this.current.getStore()?.manager ?? this.db.manager).getRepository(entity);
  }

  /** The manager of the transaction in progress, else the data source's (for the rare query a repository cannot say with a Repository). */
  get manager(): EntityManager {
    return this.current.getStore()?.manager ?? this.db.manager;
  }

  get inTransaction(): boolean {
    return this.current.getStore() !== undefined;
  }

  /** Which SQL dialect the data source speaks (for the few queries that differ). */
  get dialect(): 'sqlite' | 'postgres' {
    return this.db.options.type === 'postgres' ? 'postgres' : 'sqlite';
  }

  private transaction<T>(work: UnitOfWork, fn: () => Promise<T>): Promise<T> {
    return this.current.run(work, () =>
      this.db.transaction((manager) => {
        work.manager = manager;
        return fn();
      }),
    );
  }

  /** SQLite: waits for the connection, then holds it for the whole transaction. */
  private async runAlone<T>(work: UnitOfWork, fn: () => Promise<T>): Promise<T> {
    this.installSqliteGate();
    while (this.holder) await this.holder.done;
    let release!: () => void;
    this.holder = { work, done: new Promise<void>((r) => (release = r)) };
    try {
      return await this.transaction(work, fn);
    } finally {
      this.holder = undefined;
      release();
    }
  }

  /**
   * Every query on SQLite's one connection passes here: one from outside the
   * transaction holding the connection waits for it to end.
   */
  private installSqliteGate(): void {
    if (this.gateInstalled || this.dialect !== 'sqlite' || !this.db.isInitialized) return;
    this.gateInstalled = true;
    const runner: QueryRunner = this.db.driver.createQueryRunner('master');
    const query = runner.query.bind(runner) as QueryRunner['query'];
    const gated = async (...args: Parameters<QueryRunner['query']>) => {
      while (this.holder && this.current.getStore() !== this.holder.work) await this.holder.done;
      return query(...args);
    };
    runner.query = gated as QueryRunner['query'];
  }
}
