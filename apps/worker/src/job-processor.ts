import { Job, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { JOB_NAMES, JobName, JobPayloads, UnavailableError, id, isJobName, parseJob, serializeError } from '@berth/domain';
import type { Reporter } from './reporter';

/** A handler may answer what its job produced; it becomes the operation's result. */
export type JobHandlers = { [N in JobName]: (payload: JobPayloads[N]) => Promise<void | Record<string, unknown>> };

const OPERATION_ID = id('operation');

/**
 * The host queue's processor: every job is checked against the catalogue's schema
 * before anything runs, then a switch on the job name to a use case. A malformed job
 * fails at once (its operation reported failed, naming the bad fields) and is never
 * acted on. Unavailable errors are retried with backoff; any other error fails the
 * operation at once. The operation's status is reported on the way in and on the way out.
 */
export class JobProcessor {
  constructor(
    private readonly handlers: JobHandlers,
    private readonly reporter: Pick<Reporter, 'operation'>,
    private readonly log: Logger,
  ) {
    const missing = JOB_NAMES.filter((n) => typeof handlers[n] !== 'function');
    if (missing.length) throw new Error(`no handler for job(s): ${missing.join(', ')}`);
  }

  process = async (job: Job): Promise<void> => {
    if (!isJobName(job.name)) throw new UnrecoverableError(`unknown job ${job.name}`);
    let payload: JobPayloads[JobName];
    try {
      payload = parseJob(job.name, job.data);
    } catch (err) {
      // Only an operation id that is one is trusted to name the operation that failed.
      const claimed = (job.data as { operationId?: unknown } | null)?.operationId;
      const operationId = OPERATION_ID.safeParse(claimed).success ? (claimed as string) : undefined;
      this.log.warn({ job: job.name, jobId: job.id, operationId, err: serializeError(err) }, 'malformed job refused');
      if (operationId) await this.reporter.operation(operationId, 'failed', serializeError(err));
      throw new UnrecoverableError((err as Error).message);
    }
    const handler = this.handlers[job.name] as (p: unknown) => Promise<void | Record<string, unknown>>;
    // Jobs that are not an operation's (network.sync) have no operation id and nothing to report.
    const operationId = 'operationId' in payload ? payload.operationId : undefined;
    if (job.attemptsMade === 0 && operationId) await this.reporter.operation(operationId, 'running');
    let result: void | Record<string, unknown>;
    try {
      result = await handler(payload);
    } catch (err) {
      const retry = err instanceof UnavailableError && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
      this.log.warn({ job: job.name, operationId, err: serializeError(err), retry }, 'job failed');
      if (retry) throw err;
      if (operationId) await this.reporter.operation(operationId, 'failed', serializeError(err));
      throw new UnrecoverableError((err as Error).message);
    }
    if (operationId) await this.reporter.operation(operationId, 'succeeded', undefined, result ?? undefined);
  };
}
