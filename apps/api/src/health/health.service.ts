import { Injectable } from '@nestjs/common';
import { RedisConnections } from '../common/redis';
import { HealthRepository } from './health.repository';

export interface Readiness {
  ok: boolean;
  /** `ok`, or why the dependency did not answer. */
  checks: Record<string, string>;
}

const REDIS_PING_TIMEOUT_MS = 2000;

/** Readiness: the database and Redis answer. */
@Injectable()
export class HealthService {
  constructor(
    private readonly database: HealthRepository,
    private readonly redis: RedisConnections,
  ) {}

  async readiness(): Promise<Readiness> {
    const checks: Record<string, string> = {};
    await this.database.ping().then(
      () => (checks.database = 'ok'),
      (e: Error) => (checks.database = e.message),
    );
    await withTimeout(this.redis.client.ping(), REDIS_PING_TIMEOUT_MS).then(
      () => (checks.redis = 'ok'),
      (e: Error) => (checks.redis = e.message),
    );
    return { ok: Object.values(checks).every((v) => v === 'ok'), checks };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
