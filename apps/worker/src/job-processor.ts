import { Job, UnrecoverableError } from 'bullmq';
import { JOB_NAMES, JobName, JobPayloads, UnavailableError, serializeError } from '@berth/domain';
import type { Logger } from 'pino';
import { Reporter } from './reporter';

/** A handler may answer what its job produced; it becomes the operation's result. */
export type JobHandlers = { [N in JobName]: (payload: JobPayloads[N]) => Promise<void | Record<string, unknown>> };

/**
 * The host queue's processor: a switch on the job name to a use case. Unavailable
 * errors are retried with backoff; any other error fails the operation at once.
 * The operation's status is reported on the way in and on the way out.
 */
export class JobProcessor {
  constructor(
    private readonly handlers: JobHandlers,
    private readonly reporter: Reporter,
    private readonly log: Logger,
  ) {
    const missing = JOB_NAMES.filter((n) => typeof handlers[n] !== 'function');
    if (missing.length) throw new Error(`no handler for job(s): ${missing.join(', ')}`);
  }

  process = async (job: Job): Promise<void> => {
    const name = job.name as JobName;
    const handler = this.handlers[name] as ((p: unknown) => Promise<void | Record<string, unknown>>) | undefined;
    // Jobs that are not an operation's (network.sync) have no operation id and nothing to report.
    const operationId: string | undefined = job.data.operationId;
    if (!handler) throw new UnrecoverableError(`unknown job ${job.name}`);
    if (job.attemptsMade === 0 && operationId) await this.reporter.operation(operationId, 'running');
    let result: void | Record<string, unknown>;
    try {
      result = await handler(job.data);
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
