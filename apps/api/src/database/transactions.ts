import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, EntityTarget, ObjectLiteral, Repository } from 'typeorm';

/**
 * The unit of work. `run(fn)` runs `fn` in one database transaction; every
 * repository call made inside it, however deep, joins that transaction (the
 * manager travels in AsyncLocalStorage), and a nested `run` joins the outer one.
 * Outside `run`, repositories use the data source directly.
 *
 * Only repositories reach the manager: services call `run` and repositories.
 */
@Injectable()
export class Transactions {
  private readonly current = new AsyncLocalStorage<EntityManager>();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.current.getStore()) return fn();
    return this.db.transaction((manager) => this.current.run(manager, fn));
  }

  /** The repository of an entity, in the transaction in progress if there is one. */
  repository<E extends ObjectLiteral>(entity: EntityTarget<E>): Repository<E> {
    return (this.current.getStore() ?? this.db.manager).getRepository(entity);
  }

  /** The manager of the transaction in progress, else the data source's (for the rare query a repository cannot say with a Repository). */
  get manager(): EntityManager {
    return this.current.getStore() ?? this.db.manager;
  }

  get inTransaction(): boolean {
    return this.current.getStore() !== undefined;
  }

  /** Which SQL dialect the data source speaks (for the few queries that differ). */
  get dialect(): 'sqlite' | 'postgres' {
    return this.db.options.type === 'postgres' ? 'postgres' : 'sqlite';
  }
}
