import type { FindOptionsWhere, Repository } from 'typeorm';
import { ConflictError } from '@berth/domain';

/** A row under optimistic locking: every change is conditional on the version read. */
export interface Versioned {
  id: string;
  version: number;
}

/**
 * Writes `changes` to `row` only if nobody changed it since it was read (same
 * version), bumping the version; otherwise a ConcurrentChange conflict (409), and
 * nothing is written. Answers the row with the changes applied.
 */
export async function updateVersioned<E extends Versioned>(repo: Repository<E>, row: E, changes: Partial<E>, what: string): Promise<E> {
  const next = { ...changes, version: row.version + 1 } as Partial<E>;
  const res = await repo.update({ id: row.id, version: row.version } as FindOptionsWhere<E>, next as never);
  if (!res.affected) throw new ConflictError(`${what} ${row.id} changed meanwhile; try again`, 'ConcurrentChange');
  return Object.assign(row, next);
}
