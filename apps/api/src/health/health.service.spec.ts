import { DataSource } from 'typeorm';
import { RedisConnections } from '../common/redis';
import { Transactions } from '../database/transactions';
import { createTestDatabase } from '../testing/test-database';
import { HealthRepository } from './health.repository';
import { HealthService } from './health.service';

describe('HealthService (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  const redisAnswering = (ping: () => Promise<string>) => ({ client: { ping } }) as unknown as RedisConnections;

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
  });
  afterEach(async () => {
    if (db.isInitialized) await db.destroy();
  });

  it('is ready when the database and Redis answer', async () => {
    const service = new HealthService(
      new HealthRepository(tx),
      redisAnswering(async () => 'PONG'),
    );
    await expect(service.readiness()).resolves.toEqual({ ok: true, checks: { database: 'ok', redis: 'ok' } });
  });

  it('says why the database did not answer', async () => {
    await db.destroy();
    const service = new HealthService(
      new HealthRepository(tx),
      redisAnswering(async () => 'PONG'),
    );
    const readiness = await service.readiness();
    expect(readiness.ok).toBe(false);
    expect(readiness.checks.redis).toBe('ok');
    expect(readiness.checks.database).not.toBe('ok');
  });

  it('gives Redis two seconds to answer', async () => {
    const service = new HealthService(
      new HealthRepository(tx),
      redisAnswering(() => new Promise<string>(() => undefined)),
    );
    await expect(service.readiness()).resolves.toEqual({ ok: false, checks: { database: 'ok', redis: 'no answer in 2000 ms' } });
  });

  it('says what Redis answered when it refused', async () => {
    const service = new HealthService(
      new HealthRepository(tx),
      redisAnswering(async () => Promise.reject(new Error('ECONNREFUSED'))),
    );
    await expect(service.readiness()).resolves.toEqual({ ok: false, checks: { database: 'ok', redis: 'ECONNREFUSED' } });
  });
});
