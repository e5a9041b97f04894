import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { RedisConnections } from '../common/redis';
import { OperationQueue } from './operation-queue';
import { OperationsRepository } from './operations.repository';

/** The API's producer: the operation queue, on the API's Redis and database. */
@Injectable()
export class JobProducer extends OperationQueue implements OnApplicationShutdown {
  constructor(redis: RedisConnections, operations: OperationsRepository) {
    const logger = new Logger('JobProducer');
    super(redis.bullConnection, operations, (message) => logger.warn(message));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
