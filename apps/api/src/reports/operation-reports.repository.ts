import { Injectable } from '@nestjs/common';
import { Operation } from '@berth/domain';
import { Transactions } from '../database/transactions';

/** The operation writes that workers' reports make (status, progress, results), by id across teams. */
@Injectable()
export class OperationReportsRepository {
  static readonly systemQueries = [
    // A report names its operation by id; the host that ran it may be the shared pool's.
    'find',
    'update',
  ] as const;

  constructor(private readonly tx: Transactions) {}

  private get rows() {
    return this.tx.repository(Operation);
  }

  /**
   * The row a report changes. On PostgreSQL, inside the report's transaction, it is
   * locked until the commit: replicas apply reports side by side, and the second
   * to come must see what the first wrote (a newer sequence, a finished status).
   */
  find(id: string): Promise<Operation | null> {
    const lock = this.tx.dialect === 'postgres' && this.tx.inTransaction ? { mode: 'pessimistic_write' as const } : undefined;
    return this.rows.findOne({ where: { id }, lock });
  }

  async update(id: string, changes: Partial<Pick<Operation, 'status' | 'startedAt' | 'finishedAt' | 'error' | 'result' | 'progress'>>): Promise<void> {
    // The result is `unknown` to TypeORM's typing of JSON columns; it is stored as given.
    await this.rows.update({ id }, changes as never);
  }
}
