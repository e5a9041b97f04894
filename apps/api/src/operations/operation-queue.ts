import { ConnectionOptions, Queue } from 'bullmq';
import { JobSpec, Operation } from '@berth/domain';
import type { OperationsRepository } from './operations.repository';

/**
 * Puts operations' jobs on their host's queue. The job id is the operation id, so
 * enqueueing the same operation twice is harmless. An operation whose enqueue
 * failed (Redis down at commit) stays `queued` with no `enqueuedAt`, and
 * `dispatchPending` tries again. Plain class: the Nest provider wraps it.
 */
export class OperationQueue {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly operations: Pick<OperationsRepository, 'markEnqueued' | 'awaitingDispatch'>,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection });
      q.on('error', (err) => this.warn(`queue ${name}: ${err.message}`));
      this.queues.set(name, q);
    }
    return q;
  }

  /** Enqueues after commit. Never throws: a failure leaves the operation for the dispatcher. */
  async enqueue(op: Operation): Promise<boolean> {
    try {
      await this.queue(op.job.queue).add(op.job.name, op.job.payload, {
        jobId: op.id,
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 3600, count: 10000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
      await this.operations.markEnqueued(op.id);
      return true;
    } catch (err) {
      this.warn(`operation ${op.id} stays queued for the dispatcher: ${(err as Error).message}`);
      return false;
    }
  }

  /**
   * A job that is not an operation's (its sender keeps its own record of what was
   * sent). The same `jobId` twice is one job.
   */
  async add(job: JobSpec, jobId: string): Promise<void> {
    await this.queue(job.queue).add(job.name, job.payload, {
      jobId,
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 3600, count: 10000 },
      removeOnFail: { age: 24 * 3600 },
    });
  }

  /** Enqueues every operation that was accepted but never reached Redis. */
  async dispatchPending(limit = 100): Promise<number> {
    const pending = await this.operations.awaitingDispatch(limit);
    let n = 0;
    for (const op of pending) if (await this.enqueue(op)) n++;
    return n;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
  }
}
