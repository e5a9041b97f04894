import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { ConnectionOptions } from 'bullmq';
import IORedis, { Redis, RedisOptions } from 'ioredis';
import { redisOptionsFromUrl } from '@berth/domain';
import { API_CONFIG, ApiConfig } from '../config';

/**
 * Redis connections of the API. One shared connection for commands; blocking
 * reads and subscriptions get connections of their own from `duplicate()`.
 */
@Injectable()
export class RedisConnections implements OnApplicationShutdown {
  readonly options: RedisOptions;
  readonly client: Redis;
  private readonly extra = new Set<Redis>();

  /** The same options, typed for BullMQ queues and workers (each opens its own connections). */
  get bullConnection(): ConnectionOptions {
    return this.options as ConnectionOptions;
  }

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.options = { ...redisOptionsFromUrl(config.redisUrl), maxRetriesPerRequest: null, enableReadyCheck: true };
    this.client = new IORedis(this.options);
    this.client.on('error', () => undefined); // reconnects; readiness reports it
  }

  /** A dedicated connection; closed with `release` or at shutdown. */
  duplicate(): Redis {
    const c = new IORedis(this.options);
    c.on('error', () => undefined);
    this.extra.add(c);
    return c;
  }

  release(c: Redis): void {
    this.extra.delete(c);
    c.disconnect();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const c of this.extra) c.disconnect();
    await this.client.quit().catch(() => undefined);
  }
}
