import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { NotFoundError, Operation, OperationKind, TargetKind, isFinished, newId } from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { EventBus } from '../events/event-bus';
import { JobSpec } from '../queue/operation-queue';

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
    @InjectDataSource() private readonly db: DataSource,
    private readonly events: EventBus,
  ) {}

  /** Writes an operation inside the caller's transaction (with the desired state it belongs to). */
  async insert(tx: EntityManager, input: NewOperation): Promise<Operation> {
    const op = Object.assign(new Operation(), {
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
    await tx.getRepository(Operation).insert(op);
    return op;
  }

  async get(auth: AuthContext, id: string): Promise<Operation> {
    const op = await this.db.getRepository(Operation).findOneBy({ id, teamId: auth.teamId });
    if (!op) throw new NotFoundError(`operation ${id} not found`, 'OperationNotFound');
    return op;
  }

  /** Long-poll: answers as soon as the operation finishes, or with its current state at the timeout. */
  async wait(auth: AuthContext, id: string, timeoutSec: number, signal?: AbortSignal): Promise<Operation> {
    const found = await this.events.waitFor(
      id,
      async () => {
        const op = await this.get(auth, id);
        return isFinished(op.status) ? op : undefined;
      },
      timeoutSec * 1000,
      signal,
    );
    return found ?? this.get(auth, id);
  }
}
