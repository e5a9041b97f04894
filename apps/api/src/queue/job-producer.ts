import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { OperationQueue } from './operation-queue';
import { RedisConnections } from '../common/redis';

/** The API's producer: the operation queue, on the API's Redis and database. */
@Injectable()
export class JobProducer extends OperationQueue implements OnApplicationShutdown {
  constructor(redis: RedisConnections, @InjectDataSource() db: DataSource) {
    const logger = new Logger('JobProducer');
    super(redis.bullConnection, db, (message) => logger.warn(message));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
