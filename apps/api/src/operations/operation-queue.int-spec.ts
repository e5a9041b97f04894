import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { JobName, Operation, Team, hostQueueName, newId, redisOptionsFromUrl, jobFor } from '@berth/domain';
import { openDatabase } from '../../../../migrations/data-source';
import { Transactions } from '../database/transactions';
import { OperationQueue } from './operation-queue';
import { OperationsRepository } from './operations.repository';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../../../scripts/lib/stack.cjs');

/** Nothing accepted is lost: an operation committed while Redis was down is enqueued later. */
describe('OperationQueue and the dispatcher (real SQLite, real Redis)', () => {
  const dir = mkdtempSync('/var/tmp/berth-producer-');
  let ds: DataSource;
  let redis: { child: { kill(): void }; url: string };
  const teamId = newId('team');
  const closers: (() => Promise<unknown>)[] = [];
  const connection = (redisUrl: string) => ({ ...redisOptionsFromUrl(redisUrl), maxRetriesPerRequest: null });
  const producer = (redisUrl: string) => {
    const q = new OperationQueue(connection(redisUrl), new OperationsRepository(new Transactions(ds)));
    closers.push(() => q.close());
    return q;
  };
  const queue = (redisUrl: string) => {
    const q = new Queue(hostQueueName('h1'), { connection: connection(redisUrl) });
    closers.push(() => q.close());
    return q;
  };

  const insertOperation = async () => {
    const operationId = newId('operation');
    const op = Object.assign(new Operation(), {
      id: operationId,
      teamId,
      kind: 'container.start',
      targetKind: 'container',
      targetId: newId('container'),
      hostId: 'host_x',
      status: 'queued',
      error: null,
      job: jobFor(JobName.ContainerSignal, 'h1', { operationId, teamId, containerId: 'ctr_x', signal: 'SIGTERM' }),
      result: null,
      createdAt: new Date(),
      enqueuedAt: null,
      startedAt: null,
      finishedAt: null,
    });
    await ds.getRepository(Operation).insert(op);
    return op;
  };

  beforeAll(async () => {
    ds = await openDatabase({ sqlitePath: join(dir, 'db.sqlite') });
    await ds.getRepository(Team).insert({ id: teamId, name: 't', admin: false, createdAt: new Date() });
    redis = await stack.startRedis({ dir: join(dir, 'redis'), logFile: join(dir, 'redis.log') });
  });

  afterAll(async () => {
    for (const close of closers) await close().catch(() => undefined);
    await stack.stopProcess(redis?.child);
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('enqueues with the operation id as the job id, and marks the operation enqueued', async () => {
    const up = producer(redis.url);
    const op = await insertOperation();
    await expect(up.enqueue(op)).resolves.toBe(true);
    const q = queue(redis.url);
    const job = await q.getJob(op.id);
    expect(job?.name).toBe(JobName.ContainerSignal);
    expect(job?.data).toEqual(op.job.payload);
    expect((await ds.getRepository(Operation).findOneByOrFail({ id: op.id })).enqueuedAt).toBeInstanceOf(Date);
    // Enqueueing again is harmless: same job id, still one job.
    await up.enqueue(op);
    expect(await q.getJobCountByTypes('waiting')).toBe(1);
    await q.obliterate({ force: true });
  });

  it('leaves an operation queued when Redis is unreachable, and the dispatcher enqueues it once Redis answers', async () => {
    const down = producer(`unix://${join(dir, 'no-such.sock')}`);
    const op = await insertOperation();
    const attempt = down.enqueue(op);
    // ioredis keeps retrying with maxRetriesPerRequest: null; give up on it after a moment.
    const outcome = await Promise.race([attempt, new Promise((r) => setTimeout(() => r('pending'), 1500))]);
    expect(outcome === false || outcome === 'pending').toBe(true);
    expect((await ds.getRepository(Operation).findOneByOrFail({ id: op.id })).enqueuedAt).toBeNull();

    const up = producer(redis.url);
    expect(await up.dispatchPending()).toBeGreaterThanOrEqual(1);
    expect((await queue(redis.url).getJob(op.id))?.id).toBe(op.id);
    expect((await ds.getRepository(Operation).findOneByOrFail({ id: op.id })).enqueuedAt).toBeInstanceOf(Date);
    expect(await up.dispatchPending()).toBe(0);
  });
});
