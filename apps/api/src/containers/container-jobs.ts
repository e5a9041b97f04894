import { Injectable } from '@nestjs/common';
import { Container, ContainerConvergeJob, JobName, Operation, OperationKind, newId, JobSpec, jobFor } from '@berth/domain';
import { HostsService } from '../hosts/hosts.service';
import { JobProducer } from '../operations/job-producer.service';
import { OperationsService } from '../operations/operations.service';

/** A change of a container: the container as recorded, and the operation that carries the change out. */
export interface ContainerChange {
  container: Container;
  operation: Operation;
}

/** What every container job carries. */
export interface ContainerJobBase {
  operationId: string;
  teamId: string;
  containerId: string;
}

export const DEFAULT_STOP_TIMEOUT_SEC = 10;

/**
 * The operations that carry changes of containers out on their hosts: written in
 * the transaction in progress (with the change), enqueued after it commits.
 */
@Injectable()
export class ContainerJobs {
  constructor(
    private readonly hosts: HostsService,
    private readonly operations: OperationsService,
    private readonly producer: JobProducer,
  ) {}

  /** Converge the container on its host to its desired state and generation (`hostName` when the caller has the host already). */
  async converge(
    c: Container,
    kind: OperationKind,
    stopTimeoutSec: number,
    options: { hostName?: string; pull?: ContainerConvergeJob['pull'] } = {},
  ): Promise<Operation> {
    const hostName = options.hostName ?? (await this.hosts.byId(c.hostId)).name;
    const operationId = newId('operation');
    return this.operations.insert({
      id: operationId,
      teamId: c.teamId,
      kind,
      targetKind: 'container',
      targetId: c.id,
      hostId: c.hostId,
      job: jobFor(JobName.ContainerConverge, hostName, {
        operationId,
        teamId: c.teamId,
        containerId: c.id,
        generation: c.generation,
        desired: c.desiredState,
        spec: c.spec,
        stopTimeoutSec,
        ...(options.pull ? { pull: options.pull } : {}),
      }),
    });
  }

  /** An action on the container as it runs (signal, pause, new limits, networks): an operation, but no new generation. */
  async act(c: Container, kind: OperationKind, job: (base: ContainerJobBase, hostName: string, c: Container) => JobSpec): Promise<Operation> {
    const host = await this.hosts.byId(c.hostId);
    const operationId = newId('operation');
    return this.operations.insert({
      id: operationId,
      teamId: c.teamId,
      kind,
      targetKind: 'container',
      targetId: c.id,
      hostId: c.hostId,
      job: job({ operationId, teamId: c.teamId, containerId: c.id }, host.name, c),
    });
  }

  /** After the commit: the job goes to its host's queue (if Redis is down, the dispatcher sends it later). */
  async enqueue(operation: Operation): Promise<void> {
    await this.producer.enqueue(operation);
  }
}
