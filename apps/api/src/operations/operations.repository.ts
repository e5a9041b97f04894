import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { Operation } from '@berth/domain';
import { TeamScope, teamIdOf } from '../common/auth-context';
import { Transactions } from '../database/transactions';

/**
 * Every query of operations. Reads for a caller take its team; the queue's own
 * bookkeeping (marking a job enqueued, finding jobs that never reached Redis)
 * works on operations by id for every team, as the dispatcher must.
 */
@Injectable()
export class OperationsRepository {
  /** The methods that span teams (the queue's bookkeeping); every other one takes the caller's scope first. */
  static readonly systemQueries = ['insert', 'markEnqueued', 'awaitingDispatch'] as const;

  constructor(private readonly tx: Transactions) {}

  private get rows() {
    return this.tx.repository(Operation);
  }

  /** Writes a new operation, in the transaction in progress (with the desired state it carries out). */
  async insert(op: Operation): Promise<void> {
    // The job's payload is `unknown` to TypeORM's typing of JSON columns; it is stored as given.
    await this.rows.insert(op as QueryDeepPartialEntity<Operation>);
  }

  find(scope: TeamScope, id: string): Promise<Operation | null> {
    return this.rows.findOneBy({ id, teamId: teamIdOf(scope) });
  }

  /** The job reached Redis: the dispatcher leaves the operation alone from now on. */
  async markEnqueued(id: string): Promise<void> {
    await this.rows.update({ id, enqueuedAt: IsNull() }, { enqueuedAt: new Date() });
  }

  /** Operations accepted but never enqueued (Redis was down at commit), oldest first. */
  awaitingDispatch(limit: number): Promise<Operation[]> {
    return this.rows.find({ where: { status: 'queued', enqueuedAt: IsNull() }, order: { createdAt: 'ASC' }, take: limit });
  }
}
