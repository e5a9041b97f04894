import { Report } from '@berth/domain';
import { BerthEvent } from '../events/event-bus.service';

export type PendingEvent = Omit<BerthEvent, 'at'>;
export type ReportOf<K extends Report['kind']> = Extract<Report, { kind: K }>;

/** What applying one report leaves to do once its transaction has committed. */
export class ReportOutcome {
  /** Published after the commit, in order. */
  readonly events: PendingEvent[] = [];
  /** Clean-ups that must not undo the report if they fail (an upload's temporary file). */
  readonly afterCommit: (() => Promise<void>)[] = [];
  /** A host's networks heard of it again: a restarted worker, or one at a new address. */
  membersChanged = false;

  /** The hosts of some network must hear of a change now rather than at the dispatcher's next turn. */
  get networksChanged(): boolean {
    return this.membersChanged || this.events.some((e) => e.type === 'container.deleted');
  }
}
