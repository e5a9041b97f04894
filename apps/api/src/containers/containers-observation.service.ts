import { Injectable } from '@nestjs/common';
import {
  ContainerProcess,
  ContainerStats,
  ExecParams,
  ExecResult,
  FailedPreconditionError,
  LogLine,
  NotFoundError,
  WaitCondition,
  WaitOutcome,
  assertActionAllowed,
  waitOutcome,
} from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { EventBus } from '../events/event-bus.service';
import { HostsService } from '../hosts/hosts.service';
import { WorkerRpc } from '../rpc/worker-rpc.service';
import { toLogParams } from './container-logs';
import { LogsQueryDto } from './container-request.dto';
import { ContainersRepository } from './containers.repository';

/** Where an interactive console runs: the container's host and id. */
export interface ConsoleTarget {
  hostName: string;
  containerId: string;
}

/** Looking at a container as it runs, through its host's worker: processes run in it, resource use, logs, and waits for its state. */
@Injectable()
export class ContainersObservationService {
  constructor(
    private readonly containers: ContainersRepository,
    private readonly hosts: HostsService,
    private readonly rpc: WorkerRpc,
    private readonly events: EventBus,
  ) {}

  /** Runs a process in a running container through its worker and answers its output. */
  async exec(auth: AuthContext, idOrName: string, params: Omit<ExecParams, 'timeoutSec'> & { timeoutSec?: number }): Promise<ExecResult> {
    const c = await this.containers.get(auth, idOrName);
    assertActionAllowed('exec', c.status, c.id);
    const timeoutSec = params.timeoutSec ?? 60;
    const host = await this.hosts.byId(c.hostId);
    return this.rpc.call<ExecResult>(host.name, { method: 'exec', containerId: c.id, params: { ...params, timeoutSec } }, (timeoutSec + 15) * 1000);
  }

  /** Where a console may be opened: a container that could run `exec`. */
  async console(auth: AuthContext, idOrName: string): Promise<ConsoleTarget> {
    const c = await this.containers.get(auth, idOrName);
    assertActionAllowed('exec', c.status, c.id);
    const host = await this.hosts.byId(c.hostId);
    return { hostName: host.name, containerId: c.id };
  }

  stats(auth: AuthContext, idOrName: string): Promise<ContainerStats> {
    return this.inspectOnHost<ContainerStats>(auth, idOrName, 'stats');
  }

  top(auth: AuthContext, idOrName: string): Promise<ContainerProcess[]> {
    return this.inspectOnHost<ContainerProcess[]>(auth, idOrName, 'top');
  }

  /** The container's log lines in batches, from its host; with `follow` until it exits or `signal` fires. */
  async logs(auth: AuthContext, idOrName: string, query: LogsQueryDto, signal: AbortSignal): Promise<AsyncGenerator<LogLine[]>> {
    const c = await this.containers.get(auth, idOrName);
    const host = await this.hosts.byId(c.hostId);
    return this.rpc.logs(host.name, c.id, toLogParams(query), signal);
  }

  /** Long-poll: answers once the condition is met or can no longer be, or as things stand (`met: false`) at the timeout. */
  async wait(auth: AuthContext, idOrName: string, condition: WaitCondition, timeoutSec: number, signal?: AbortSignal): Promise<WaitOutcome> {
    const first = await this.containers.get(auth, idOrName).catch((err) => {
      // Already removed (or never in this team): a wait for removal is over.
      if (condition === 'removed' && err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (!first) return waitOutcome(null, condition);
    const id = first.id;
    const evaluate = async () => {
      const outcome = waitOutcome(await this.containers.findById(auth, id), condition);
      return outcome.done ? outcome : undefined;
    };
    const result = await this.events.waitFor(id, evaluate, timeoutSec * 1000, signal);
    if (result) return result;
    return { ...waitOutcome(await this.containers.findById(auth, id), condition), met: false };
  }

  private async inspectOnHost<T>(auth: AuthContext, idOrName: string, method: 'stats' | 'top'): Promise<T> {
    const c = await this.containers.get(auth, idOrName);
    if (c.status !== 'running' && c.status !== 'paused') {
      throw new FailedPreconditionError(`container ${c.id} is not running (it is ${c.status})`, 'ContainerNotRunning');
    }
    const host = await this.hosts.byId(c.hostId);
    return this.rpc.call<T>(host.name, { method, containerId: c.id }, 15_000);
  }
}
