import { Injectable } from '@nestjs/common';
import {
  AlreadyExistsError,
  Container,
  ContainerAction,
  ContainerResources,
  FailedPreconditionError,
  JobName,
  NetworkRequest,
  NotFoundError,
  OperationKind,
  assertActionAllowed,
  JobSpec,
  jobFor,
} from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { Transactions } from '../database/transactions';
import { EventBus } from '../events/event-bus.service';
import { NetworksService } from '../networks/networks.service';
import { ContainerChange, ContainerJobBase, ContainerJobs, DEFAULT_STOP_TIMEOUT_SEC } from './container-jobs';
import { ContainersRepository, nameInUse } from './containers.repository';

/**
 * The commands on a container. Each checks the transition against the state
 * machine and, in one transaction, writes the change (conditional on the version
 * read) and the operation that carries it out; the job is enqueued after the commit.
 */
@Injectable()
export class ContainersLifecycleService {
  constructor(
    private readonly tx: Transactions,
    private readonly containers: ContainersRepository,
    private readonly jobs: ContainerJobs,
    private readonly networks: NetworksService,
    private readonly events: EventBus,
  ) {}

  start(auth: AuthContext, idOrName: string): Promise<ContainerChange> {
    return this.change(auth, idOrName, 'start', 'container.start', () => ({ desiredState: 'running' }));
  }

  stop(auth: AuthContext, idOrName: string, timeoutSec = DEFAULT_STOP_TIMEOUT_SEC): Promise<ContainerChange> {
    return this.change(auth, idOrName, 'stop', 'container.stop', () => ({ desiredState: 'stopped' }), timeoutSec);
  }

  remove(auth: AuthContext, idOrName: string, force: boolean): Promise<ContainerChange> {
    return this.change(auth, idOrName, force ? 'forceRemove' : 'remove', 'container.delete', () => ({ desiredState: 'removed', status: 'removing' }), 0);
  }

  /** Signals are not desired state: they go to the worker as they are, without a new generation. */
  kill(auth: AuthContext, idOrName: string, signal: string): Promise<ContainerChange> {
    return this.act(auth, idOrName, 'kill', 'container.kill', (base, host) => jobFor(JobName.ContainerSignal, host, { ...base, signal }));
  }

  /** Stops (SIGTERM, then SIGKILL after the grace period) and starts again, whatever the container's state. */
  restart(auth: AuthContext, idOrName: string, stopTimeoutSec = DEFAULT_STOP_TIMEOUT_SEC): Promise<ContainerChange> {
    return this.act(auth, idOrName, 'restart', 'container.restart', (base, host) => jobFor(JobName.ContainerRestart, host, { ...base, stopTimeoutSec }));
  }

  pause(auth: AuthContext, idOrName: string): Promise<ContainerChange> {
    return this.act(auth, idOrName, 'pause', 'container.pause', (base, host) => jobFor(JobName.ContainerPause, host, base));
  }

  unpause(auth: AuthContext, idOrName: string): Promise<ContainerChange> {
    return this.act(auth, idOrName, 'unpause', 'container.unpause', (base, host) => jobFor(JobName.ContainerUnpause, host, base));
  }

  /** New limits, applied in place; the spec keeps them for later starts. */
  update(auth: AuthContext, idOrName: string, resources: ContainerResources): Promise<ContainerChange> {
    return this.act(
      auth,
      idOrName,
      'update',
      'container.update',
      (base, host) => jobFor(JobName.ContainerUpdate, host, { ...base, resources }),
      (c) => ({ spec: { ...c.spec, resources: { ...c.spec.resources, ...resources } } }),
    );
  }

  /** Joins a network: a new address now, wired on the host by the operation. */
  async connect(auth: AuthContext, idOrName: string, request: NetworkRequest): Promise<ContainerChange> {
    const change = await this.act(auth, idOrName, 'network', 'container.connect', networksJob, async (c) => {
      if ((c.spec.networkMode ?? 'bridge') !== 'bridge') {
        throw new FailedPreconditionError(`container ${c.name} uses network mode ${c.spec.networkMode}`, 'NotBridged');
      }
      if ((c.spec.networks ?? []).some((n) => n.networkId === request.network || n.name === request.network)) {
        throw new AlreadyExistsError(`container ${c.name} is already on network ${request.network}`, 'AlreadyConnected');
      }
      const joined = await this.networks.allocate(c.teamId, c.hostId, c.id, [request]);
      return { spec: { ...c.spec, networks: [...(c.spec.networks ?? []), ...joined] } };
    });
    void this.tx.afterCommit(() => void this.networks.flushSyncs()); // the hosts hear of it once it commits; nothing to wait for
    return change;
  }

  /** Leaves a network: the address is free at once; the host unwires it. */
  async disconnect(auth: AuthContext, idOrName: string, networkId: string): Promise<ContainerChange> {
    const change = await this.act(auth, idOrName, 'network', 'container.disconnect', networksJob, async (c) => {
      const left = (c.spec.networks ?? []).filter((n) => n.networkId !== networkId);
      if (left.length === (c.spec.networks ?? []).length) throw new NotFoundError(`container ${c.name} is not on that network`, 'NotConnected');
      await this.networks.releaseOne(c.id, networkId);
      return { spec: { ...c.spec, networks: left, ...(left.length ? {} : { ports: undefined }) } };
    });
    void this.tx.afterCommit(() => void this.networks.flushSyncs()); // the hosts hear of it once it commits; nothing to wait for
    return change;
  }

  /** Names are the team's: no operation, but the hosts of its networks learn the new name (hosts files). */
  async rename(auth: AuthContext, idOrName: string, name: string): Promise<Container> {
    const renamed = await this.tx.run(async () => {
      const c = await this.containers.get(auth, idOrName);
      assertActionAllowed('rename', c.status, c.id);
      if (name === c.name) return c;
      if (await this.containers.nameTaken(auth, name)) throw nameInUse(name);
      const updated = await this.containers.update(auth, c, { name, spec: { ...c.spec, name } });
      await this.networks.touch(await this.networks.networksOf({ containerId: c.id }));
      return updated;
    });
    void this.tx.afterCommit(() => void this.networks.flushSyncs()); // the hosts hear of it once it commits; nothing to wait for
    return renamed;
  }

  /** An action on the running container (signal, pause, limits, networks): an operation, and maybe a patch of the spec, but no new generation. */
  private async act(
    auth: AuthContext,
    idOrName: string,
    action: ContainerAction,
    kind: OperationKind,
    job: (base: ContainerJobBase, hostName: string, c: Container) => JobSpec,
    patch?: (c: Container) => Partial<Container> | Promise<Partial<Container>>,
  ): Promise<ContainerChange> {
    const change = await this.tx.run(async () => {
      let c = await this.containers.get(auth, idOrName);
      assertActionAllowed(action, c.status, c.id);
      if (patch) c = await this.containers.update(auth, c, await patch(c));
      return { container: c, operation: await this.jobs.act(c, kind, job) };
    });
    await this.jobs.enqueue(change.operation);
    return change;
  }

  /**
   * One path for every change of desired state: check the transition, bump the
   * generation and write the operation in one transaction; enqueue after commit.
   */
  private async change(
    auth: AuthContext,
    idOrName: string,
    action: ContainerAction,
    kind: OperationKind,
    patch: (c: Container) => Partial<Container>,
    stopTimeoutSec = DEFAULT_STOP_TIMEOUT_SEC,
  ): Promise<ContainerChange> {
    const change = await this.tx.run(async () => {
      const c = await this.containers.get(auth, idOrName);
      assertActionAllowed(action, c.status, c.id);
      // Conditional on the version read: a concurrent change makes this one fail instead of being lost.
      const updated = await this.containers.update(auth, c, { ...patch(c), generation: c.generation + 1 });
      return { container: updated, operation: await this.jobs.converge(updated, kind, stopTimeoutSec) };
    });
    await this.jobs.enqueue(change.operation);
    await this.events.publish({ type: 'container.updated', id: change.container.id, teamId: auth.teamId }).catch(() => undefined);
    return change;
  }
}

/** The container's networks and ports as they now are, for its host to wire. */
function networksJob(base: ContainerJobBase, hostName: string, c: Container): JobSpec {
  return jobFor(JobName.ContainerNetworks, hostName, { ...base, networks: c.spec.networks ?? [], ports: c.spec.ports ?? [] });
}
