import { Injectable } from '@nestjs/common';
import { NotFoundError, Operation, OperationKind, TargetKind, isFinished, newId, JobSpec } from '@berth/domain';
import { TeamScope } from '../common/auth-context';
import { EventBus } from '../events/event-bus.service';
import { OperationsRepository } from './operations.repository';

export interface NewOperation {
  id?: string;
  teamId: string;
  kind: OperationKind;
  targetKind: TargetKind;
  targetId: string;
  hostId: string;
  job: JobSpec;
}

@Injectable()
export class OperationsService {
  constructor(
    private readonly operations: OperationsRepository,
    private readonly events: EventBus,
  ) {}

  /** Writes a queued operation; inside `Transactions.run` it commits with the desired state it carries out. */
  async insert(input: NewOperation): Promise<Operation> {
    const op = newOperation(input);
    await this.operations.insert(op);
    return op;
  }

  async get(scope: TeamScope, id: string): Promise<Operation> {
    const op = await this.operations.find(scope, id);
    if (!op) throw new NotFoundError(`operation ${id} not found`, 'OperationNotFound');
    return op;
  }

  /** Long-poll: answers as soon as the operation finishes, or with its current state at the timeout. */
  async wait(scope: TeamScope, id: string, timeoutSec: number, signal?: AbortSignal): Promise<Operation> {
    const found = await this.events.waitFor(
      id,
      async () => {
        const op = await this.get(scope, id);
        return isFinished(op.status) ? op : undefined;
      },
      timeoutSec * 1000,
      signal,
    );
    return found ?? this.get(scope, id);
  }
}

/** The row of a new, queued operation (what `insert` writes; specs use it for what a mocked insert answers). */
export function newOperation(input: NewOperation): Operation {
  return Object.assign(new Operation(), {
    id: input.id ?? newId('operation'),
    teamId: input.teamId,
    kind: input.kind,
    targetKind: input.targetKind,
    targetId: input.targetId,
    hostId: input.hostId,
    status: 'queued',
    error: null,
    job: input.job,
    result: null,
    progress: null,
    createdAt: new Date(),
    enqueuedAt: null,
    startedAt: null,
    finishedAt: null,
  } satisfies Operation);
}
