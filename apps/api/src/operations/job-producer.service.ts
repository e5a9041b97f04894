import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Operation } from '@berth/domain';
import { RedisConnections } from '../common/redis';
import { Transactions } from '../database/transactions';
import { OperationQueue } from './operation-queue';
import { OperationsRepository } from './operations.repository';

/** The API's producer: the operation queue, on the API's Redis and database. */
@Injectable()
export class JobProducer extends OperationQueue implements OnApplicationShutdown {
  constructor(
    redis: RedisConnections,
    operations: OperationsRepository,
    private readonly tx: Transactions,
  ) {
    const logger = new Logger('JobProducer');
    super(redis.bullConnection, operations, (message) => logger.warn(message));
  }

  /**
   * Inside a transaction the job waits for its commit (a worker must never hear of
   * an operation it cannot find); the answer is then only that it will be sent.
   */
  override async enqueue(op: Operation): Promise<boolean> {
    if (!this.tx.inTransaction) return super.enqueue(op);
    await this.tx.afterCommit(async () => void (await super.enqueue(op)));
    return true;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
