import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { Brackets, DataSource, EntityManager } from 'typeorm';
import {
  ContainerConvergeJob,
  checkMounts,
  NetworkRequest,
  parseNetworkRequests,
  PermissionDeniedError,
  parseImageReference,
  AlreadyExistsError,
  ConflictError,
  ExecParams,
  FailedPreconditionError,
  Container,
  ContainerAction,
  ContainerResources,
  ContainerSpec,
  DesiredState,
  Image,
  InvalidArgumentError,
  JobName,
  NotFoundError,
  Operation,
  OperationKind,
  DEFAULT_TEAM_POLICY,
  ExecResult,
  ContainerProcess,
  ContainerStats,
  Team,
  assertActionAllowed,
  assertSecurityAllowed,
  newId,
  normalizeImageReference,
} from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { EventBus } from '../events/event-bus';
import { HostsService } from '../hosts/hosts.service';
import { JobProducer } from '../operations/job-producer';
import { JobSpec, jobFor } from '../operations/operation-queue';
import { WorkerRpc } from '../rpc/worker-rpc.service';
import { RegistriesService } from '../registries/registries.service';
import { VolumesService } from '../volumes/volumes.service';
import { NetworksService } from '../networks/networks.service';
import { OperationsService } from '../operations/operations.service';
import { CreateContainerDto, ListContainersQueryDto, WaitCondition } from './container.dto';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { isUniqueViolation } from '../common/unique-violation';

export interface ContainerChange {
  container: Container;
  operation: Operation;
}

const DEFAULT_STOP_TIMEOUT_SEC = 10;

@Injectable()
export class ContainersService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly hosts: HostsService,
    private readonly operations: OperationsService,
    private readonly producer: JobProducer,
    private readonly events: EventBus,
    private readonly rpc: WorkerRpc,
    private readonly registries: RegistriesService,
    private readonly volumes: VolumesService,
    private readonly networks: NetworksService,
  ) {}

  /** The host asked for (it must hold the volumes the container mounts), else the volumes' host, else the scheduler's choice. */
  private async place(auth: AuthContext, wanted: string | undefined, volumeHostId: string | undefined, imageDigest: string | undefined) {
    if (!wanted)
      return volumeHostId
        ? this.hosts.assertReady(await this.hosts.byId(volumeHostId), "where the container's volumes live")
        : this.hosts.schedule(auth, imageDigest);
    const host = await this.hosts.get(auth, wanted);
    if (volumeHostId && volumeHostId !== host.id) {
      throw new FailedPreconditionError(`the volumes the container mounts live on another host than ${host.name}`, 'HostConflict');
    }
    return this.hosts.assertReady(host);
  }

  async create(auth: AuthContext, dto: CreateContainerDto): Promise<ContainerChange> {
    const team = await this.db.getRepository(Team).findOneByOrFail({ id: auth.teamId });
    const policy = team.policy ?? DEFAULT_TEAM_POLICY;
    assertSecurityAllowed(dto.security, policy);
    const mounts = checkMounts(dto.mounts ?? [], policy);
    const networkMode = dto.networkMode ?? 'bridge';
    const networkRequests = parseNetworkRequests(dto.networks);
    const ports = (dto.ports ?? []).map((p) => ({
      hostPort: p.hostPort,
      containerPort: p.containerPort,
      protocol: p.protocol ?? ('tcp' as const),
      ...(p.hostIp ? { hostIp: p.hostIp } : {}),
    }));
    if (networkMode === 'host' && !policy.allowHostNetwork) {
      throw new PermissionDeniedError('the host’s network is not allowed by the team’s policy; an administrator can allow it', 'HostNetworkNotAllowed');
    }
    if (networkMode !== 'bridge' && (networkRequests.length || ports.length)) {
      const message = `networks and ports need networkMode bridge, not ${networkMode}`;
      throw new InvalidArgumentError(message, [{ field: networkRequests.length ? 'networks' : 'ports', message }], 'ConflictingOptions');
    }
    if (dto.autoRemove && dto.restartPolicy && dto.restartPolicy.name !== 'no') {
      const message = 'a container cannot both be removed when it exits (autoRemove) and restarted by a restart policy';
      throw new InvalidArgumentError(message, [{ field: 'restartPolicy', message }], 'ConflictingOptions');
    }
    const image = normalizeImageReference(dto.image, 'image');
    const imageDigest = await this.resolveImageDigest(auth, image);
    // A container goes where the volumes it mounts live; otherwise where its image is.
    const volumeHostId = await this.volumes.hostOfVolumes(auth, mounts);
    const host = await this.place(auth, dto.host, volumeHostId, imageDigest);
    const id = newId('container');
    const name = dto.name ?? `berth-${randomBytes(4).toString('hex')}`;
    const spec: ContainerSpec = {
      name,
      image,
      imageDigest,
      pullPolicy: dto.pullPolicy,
      networkMode: dto.networkMode,
      cmd: dto.cmd,
      entrypoint: dto.entrypoint,
      env: dto.env ?? [],
      workingDir: dto.workingDir,
      user: dto.user,
      hostname: dto.hostname,
      dns: dto.dns && { servers: dto.dns.servers, search: dto.dns.search, options: dto.dns.options },
      labels: dto.labels ?? {},
      resources: dto.resources,
      security: dto.security,
      autoRemove: dto.autoRemove,
      restartPolicy: dto.restartPolicy,
      healthcheck: dto.healthcheck && {
        cmd: dto.healthcheck.cmd,
        intervalMs: dto.healthcheck.intervalMs ?? 30_000,
        timeoutMs: dto.healthcheck.timeoutMs ?? 30_000,
        retries: dto.healthcheck.retries ?? 3,
        startPeriodMs: dto.healthcheck.startPeriodMs ?? 0,
      },
    };
    const desired: DesiredState = dto.start === false ? 'stopped' : 'running';
    const pullPolicy = dto.pullPolicy ?? 'missing';
    const pull: ContainerConvergeJob['pull'] =
      pullPolicy === 'never'
        ? undefined
        : { policy: pullPolicy, credentialsPath: await this.registries.loginPathFor(auth.teamId, parseImageReference(image).registry) };
    const now = new Date();
    const change = await this.db.transaction(async (tx) => {
      if (await tx.getRepository(Container).exists({ where: { teamId: auth.teamId, name } })) {
        throw new AlreadyExistsError(`a container named "${name}" already exists`, 'ContainerNameInUse');
      }
      if (mounts.length) spec.mounts = await this.volumes.settleMounts(auth, mounts, host.id, tx);
      if (networkMode === 'bridge') {
        spec.networks = await this.networks.allocate(auth.teamId, host.id, id, networkRequests, tx);
        await this.networks.assertPortsFree(auth.teamId, host.id, ports, tx);
        if (ports.length) spec.ports = ports;
      }
      const container = Object.assign(new Container(), {
        id,
        teamId: auth.teamId,
        name,
        hostId: host.id,
        spec,
        desiredState: desired,
        generation: 1,
        status: 'pending',
        exitCode: null,
        pid: null,
        oomKilled: false,
        restartCount: 0,
        health: null,
        error: null,
        reportSeq: 0,
        startedAt: null,
        finishedAt: null,
        createdAt: now,
        updatedAt: now,
      });
      await tx
        .getRepository(Container)
        .insert(container)
        .catch((err) => {
          throw isUniqueViolation(err) ? new AlreadyExistsError(`a container named "${name}" already exists`, 'ContainerNameInUse') : err;
        });
      const operation = await this.convergeOperation(tx, container, 'container.create', host.name, DEFAULT_STOP_TIMEOUT_SEC, pull);
      return { container: await tx.getRepository(Container).findOneByOrFail({ id }), operation };
    });
    await this.producer.enqueue(change.operation);
    void this.networks.flushSyncs(); // the hosts hear of it; nothing to wait for (it never throws)
    return change;
  }

  async list(auth: AuthContext, query: ListContainersQueryDto): Promise<{ items: Container[]; nextCursor: string | null }> {
    const limit = query.limit ?? 50;
    const qb = this.db.getRepository(Container).createQueryBuilder('c').where('c.teamId = :teamId', { teamId: auth.teamId });
    if (query.state) qb.andWhere('c.status = :status', { status: query.state });
    if (query.cursor) qb.andWhere('c.id < :after', { after: decodeCursor(query.cursor) });
    const labels = (query.label ?? []).map(parseLabelFilter);
    // Labels live in the JSON spec: filter in pages until the page is full.
    const items: Container[] = [];
    let after: string | undefined;
    for (let round = 0; round < 50 && items.length <= limit; round++) {
      const q = qb
        .clone()
        .orderBy('c.id', 'DESC')
        .take(limit + 1);
      if (after) q.andWhere(new Brackets((w) => w.where('c.id < :page', { page: after })));
      const batch = await q.getMany();
      items.push(...batch.filter((c) => labels.every(([k, v]) => k in c.spec.labels && (v === undefined || c.spec.labels[k] === v))));
      if (batch.length < limit + 1) break;
      after = batch[batch.length - 1].id;
    }
    const page = items.slice(0, limit);
    return { items: page, nextCursor: items.length > limit ? encodeCursor(page[page.length - 1].id) : null };
  }

  /** By id or by name, within the caller's team only. */
  async get(auth: AuthContext, idOrName: string, tx?: EntityManager): Promise<Container> {
    const repo = (tx ?? this.db.manager).getRepository(Container);
    const c = await repo.findOne({
      where: [
        { teamId: auth.teamId, id: idOrName },
        { teamId: auth.teamId, name: idOrName },
      ],
    });
    if (!c) throw new NotFoundError(`container ${idOrName} not found`, 'ContainerNotFound');
    return c;
  }

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
    const change = await this.act(
      auth,
      idOrName,
      'network',
      'container.connect',
      (base, host, c) => jobFor(JobName.ContainerNetworks, host, { ...base, networks: c.spec.networks ?? [], ports: c.spec.ports ?? [] }),
      async (c, tx) => {
        if ((c.spec.networkMode ?? 'bridge') !== 'bridge') {
          throw new FailedPreconditionError(`container ${c.name} uses network mode ${c.spec.networkMode}`, 'NotBridged');
        }
        if ((c.spec.networks ?? []).some((n) => n.networkId === request.network || n.name === request.network)) {
          throw new AlreadyExistsError(`container ${c.name} is already on network ${request.network}`, 'AlreadyConnected');
        }
        const joined = await this.networks.allocate(c.teamId, c.hostId, c.id, [request], tx);
        return { spec: { ...c.spec, networks: [...(c.spec.networks ?? []), ...joined] } };
      },
    );
    void this.networks.flushSyncs(); // the hosts hear of it; nothing to wait for (it never throws)
    return change;
  }

  /** Leaves a network: the address is free at once; the host unwires it. */
  async disconnect(auth: AuthContext, idOrName: string, networkId: string): Promise<ContainerChange> {
    const change = await this.act(
      auth,
      idOrName,
      'network',
      'container.disconnect',
      (base, host, c) => jobFor(JobName.ContainerNetworks, host, { ...base, networks: c.spec.networks ?? [], ports: c.spec.ports ?? [] }),
      async (c, tx) => {
        const left = (c.spec.networks ?? []).filter((n) => n.networkId !== networkId);
        if (left.length === (c.spec.networks ?? []).length) throw new NotFoundError(`container ${c.name} is not on that network`, 'NotConnected');
        await this.networks.releaseOne(c.id, networkId, tx);
        return { spec: { ...c.spec, networks: left, ...(left.length ? {} : { ports: undefined }) } };
      },
    );
    void this.networks.flushSyncs(); // the hosts hear of it; nothing to wait for (it never throws)
    return change;
  }

  /** Names are the team's: no operation, but the hosts of its networks learn the new name (hosts files). */
  async rename(auth: AuthContext, idOrName: string, name: string): Promise<Container> {
    const renamed = await this.db.transaction(async (tx) => {
      const c = await this.get(auth, idOrName, tx);
      assertActionAllowed('rename', c.status, c.id);
      if (name === c.name) return c;
      if (await tx.getRepository(Container).exists({ where: { teamId: auth.teamId, name } })) {
        throw new AlreadyExistsError(`a container named "${name}" already exists`, 'ContainerNameInUse');
      }
      const changes = { name, spec: { ...c.spec, name }, updatedAt: new Date(), version: c.version + 1 };
      const res = await tx.getRepository(Container).update({ id: c.id, version: c.version }, changes);
      if (!res.affected) throw new ConflictError(`container ${c.id} changed meanwhile; try again`, 'ConcurrentChange');
      await this.networks.touch(await this.networks.networksOf({ containerId: c.id }, tx), tx);
      return Object.assign(c, changes);
    });
    void this.networks.flushSyncs(); // the hosts hear of it; nothing to wait for (it never throws)
    return renamed;
  }

  pause(auth: AuthContext, idOrName: string): Promise<ContainerChange> {
    return this.act(auth, idOrName, 'pause', 'container.pause', (base, host) => jobFor(JobName.ContainerPause, host, base));
  }

  unpause(auth: AuthContext, idOrName: string): Promise<ContainerChange> {
    return this.act(auth, idOrName, 'unpause', 'container.unpause', (base, host) => jobFor(JobName.ContainerUnpause, host, base));
  }

  /** Runs a process in a running container through its worker and answers its output. */
  async exec(auth: AuthContext, idOrName: string, params: Omit<ExecParams, 'timeoutSec'> & { timeoutSec?: number }): Promise<ExecResult> {
    const c = await this.get(auth, idOrName);
    assertActionAllowed('exec', c.status, c.id);
    const timeoutSec = params.timeoutSec ?? 60;
    const host = await this.hosts.byId(c.hostId);
    return this.rpc.call<ExecResult>(host.name, { method: 'exec', containerId: c.id, params: { ...params, timeoutSec } }, (timeoutSec + 15) * 1000);
  }

  async stats(auth: AuthContext, idOrName: string): Promise<ContainerStats> {
    return this.inspectOnHost<ContainerStats>(auth, idOrName, 'stats');
  }

  async top(auth: AuthContext, idOrName: string): Promise<ContainerProcess[]> {
    return this.inspectOnHost<ContainerProcess[]>(auth, idOrName, 'top');
  }

  private async inspectOnHost<T>(auth: AuthContext, idOrName: string, method: 'stats' | 'top'): Promise<T> {
    const c = await this.get(auth, idOrName);
    if (c.status !== 'running' && c.status !== 'paused') {
      throw new FailedPreconditionError(`container ${c.id} is not running (it is ${c.status})`, 'ContainerNotRunning');
    }
    const host = await this.hosts.byId(c.hostId);
    return this.rpc.call<T>(host.name, { method, containerId: c.id }, 15_000);
  }

  /** An action on the running container (signal, pause): an operation, but no new generation. */
  private async act(
    auth: AuthContext,
    idOrName: string,
    action: ContainerAction,
    kind: OperationKind,
    job: (base: { operationId: string; teamId: string; containerId: string }, hostName: string, c: Container) => JobSpec,
    patch?: (c: Container, tx: EntityManager) => Partial<Container> | Promise<Partial<Container>>,
  ): Promise<ContainerChange> {
    const change = await this.db.transaction(async (tx) => {
      let c = await this.get(auth, idOrName, tx);
      assertActionAllowed(action, c.status, c.id);
      if (patch) {
        const changes = { ...(await patch(c, tx)), updatedAt: new Date(), version: c.version + 1 };
        const res = await tx.getRepository(Container).update({ id: c.id, version: c.version }, changes);
        if (!res.affected) throw new ConflictError(`container ${c.id} changed meanwhile; try again`, 'ConcurrentChange');
        c = Object.assign(c, changes);
      }
      const host = await this.hosts.byId(c.hostId);
      const operationId = newId('operation');
      const operation = await this.operations.insert({
        id: operationId,
        teamId: auth.teamId,
        kind,
        targetKind: 'container',
        targetId: c.id,
        hostId: c.hostId,
        job: job({ operationId, teamId: auth.teamId, containerId: c.id }, host.name, c),
      });
      return { container: c, operation };
    });
    await this.producer.enqueue(change.operation);
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
    const change = await this.db.transaction(async (tx) => {
      const c = await this.get(auth, idOrName, tx);
      assertActionAllowed(action, c.status, c.id);
      const changes = { ...patch(c), generation: c.generation + 1, updatedAt: new Date(), version: c.version + 1 };
      // Conditional on the version read: a concurrent change makes this one fail instead of being lost.
      const res = await tx.getRepository(Container).update({ id: c.id, version: c.version }, changes);
      if (!res.affected) throw new ConflictError(`container ${c.id} changed meanwhile; try again`, 'ConcurrentChange');
      const updated = Object.assign(c, changes);
      const host = await this.hosts.byId(c.hostId);
      const operation = await this.convergeOperation(tx, updated, kind, host.name, stopTimeoutSec);
      return { container: updated, operation };
    });
    await this.producer.enqueue(change.operation);
    await this.events.publish({ type: 'container.updated', id: change.container.id, teamId: auth.teamId }).catch(() => undefined);
    return change;
  }

  private convergeOperation(
    tx: EntityManager,
    c: Container,
    kind: OperationKind,
    hostName: string,
    stopTimeoutSec: number,
    pull?: ContainerConvergeJob['pull'],
  ): Promise<Operation> {
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
        ...(pull ? { pull } : {}),
      }),
    });
  }

  /** The team's own mapping of a reference to a digest; undefined when the team has no such image. */
  private async resolveImageDigest(auth: AuthContext, reference: string): Promise<string | undefined> {
    const at = reference.indexOf('@');
    if (at >= 0) return reference.slice(at + 1);
    const images = await this.db.getRepository(Image).find({ where: { teamId: auth.teamId }, order: { createdAt: 'DESC' } });
    return images.find((i) => i.references.includes(reference))?.digest;
  }

  async wait(auth: AuthContext, idOrName: string, condition: WaitCondition, timeoutSec: number, signal?: AbortSignal) {
    const first = await this.get(auth, idOrName).catch((err) => {
      // Already removed (or never in this team): a wait for removal is over.
      if (condition === 'removed' && err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (!first) return waitOutcome(null, condition);
    const id = first.id;
    const evaluate = async () => {
      const c = await this.db.getRepository(Container).findOneBy({ teamId: auth.teamId, id });
      const outcome = waitOutcome(c, condition);
      return outcome.done ? outcome : undefined;
    };
    const result = await this.events.waitFor(id, evaluate, timeoutSec * 1000, signal);
    if (result) return result;
    const c = await this.db.getRepository(Container).findOneBy({ teamId: auth.teamId, id });
    return { ...waitOutcome(c, condition), met: false };
  }
}

/** Whether a wait is over, and whether its condition was met (a container that can never meet it ends the wait too). */
export function waitOutcome(c: Container | null, condition: WaitCondition) {
  if (!c) return { done: true, met: condition === 'removed', condition, status: 'removed' as const, exitCode: null, error: null };
  const base = { condition, status: c.status, exitCode: c.exitCode, error: c.error };
  const notRunning = c.status === 'exited' || c.status === 'failed' || (c.status === 'created' && c.desiredState === 'stopped');
  switch (condition) {
    case 'running':
      return { ...base, done: c.status === 'running' || c.status === 'failed', met: c.status === 'running' };
    case 'healthy': {
      const healthy = c.status === 'running' && c.health?.status === 'healthy';
      // Over when healthy, unhealthy, or no longer running (or never checked).
      const over =
        healthy || c.health?.status === 'unhealthy' || c.status === 'exited' || c.status === 'failed' || (c.status === 'running' && !c.spec.healthcheck);
      return { ...base, done: over, met: healthy };
    }
    case 'exited':
      return { ...base, done: c.status === 'exited' || c.status === 'failed', met: c.status === 'exited' };
    case 'not-running':
      return { ...base, done: notRunning, met: notRunning };
    case 'removed':
      return { ...base, done: false, met: false };
  }
}

function parseLabelFilter(filter: string): [string, string | undefined] {
  const eq = filter.indexOf('=');
  if (eq === 0) throw new InvalidArgumentError('label filters look like key or key=value', [{ field: 'label', message: 'empty key' }]);
  return eq < 0 ? [filter, undefined] : [filter.slice(0, eq), filter.slice(eq + 1)];
}
