import { Injectable } from '@nestjs/common';
import { Host, Operation, newId, JobSpec } from '@berth/domain';
import { TeamScope } from '../common/auth-context';
import { Transactions } from '../database/transactions';
import { JobProducer } from '../operations/job-producer.service';
import { OperationsService } from '../operations/operations.service';

/** Work on an image that a host's worker carries out: an operation, committed, then its job on the host's queue. */
@Injectable()
export class ImageJobs {
  constructor(
    private readonly operations: OperationsService,
    private readonly producer: JobProducer,
    private readonly tx: Transactions,
  ) {}

  /** `target` names the image (or upload, or host) in the operation, cut to the column's 80 characters. */
  async enqueue(scope: TeamScope, host: Host, kind: Operation['kind'], target: string, job: (operationId: string) => JobSpec): Promise<Operation> {
    const operationId = newId('operation');
    const operation = await this.tx.run(() =>
      this.operations.insert({
        id: operationId,
        teamId: scope.teamId,
        kind,
        targetKind: 'image',
        targetId: target.slice(0, 80),
        hostId: host.id,
        job: job(operationId),
      }),
    );
    await this.producer.enqueue(operation);
    return operation;
  }
}
