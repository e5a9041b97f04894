import { type Job, UnrecoverableError } from 'bullmq';
import { type Report, parseReport } from '@berth/domain';

/**
 * The reports queue's entry: a report is checked against the catalogue before
 * anything of it is applied. A malformed one is logged with what was wrong and
 * fails for good (kept a day in the queue's failed set, never retried, never applied).
 */
export function checkedReport(job: Pick<Job, 'id' | 'name' | 'data'>, log: { error(message: string): void }): Report {
  try {
    return parseReport(job.data);
  } catch (err) {
    log.error(`report ${job.id ?? '?'} (${job.name}) refused: ${(err as Error).message}`);
    throw new UnrecoverableError((err as Error).message);
  }
}
