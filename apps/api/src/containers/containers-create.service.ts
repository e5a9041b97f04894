import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  newContainer,
  ContainerSpec,
  DesiredState,
  PublishedPort,
  assertCreateOptions,
  assertSecurityAllowed,
  checkMounts,
  newId,
  normalizeImageReference,
  parseNetworkRequests,
} from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { Transactions } from '../database/transactions';
import { ContainerAttachments } from './container-attachments';
import { CreateContainerDto } from './container-create.dto';
import { ContainerChange, ContainerJobs, DEFAULT_STOP_TIMEOUT_SEC } from './container-jobs';
import { ContainerPlacement } from './container-placement';
import { ContainersRepository, nameInUse } from './containers.repository';

/**
 * Creating a container: check what is asked against the team's policy, place it,
 * then in one transaction write it with its volumes, addresses and the operation
 * that creates it on the host; enqueue after the commit.
 */
@Injectable()
export class ContainersCreateService {
  constructor(
    private readonly tx: Transactions,
    private readonly containers: ContainersRepository,
    private readonly placement: ContainerPlacement,
    private readonly attachments: ContainerAttachments,
    private readonly jobs: ContainerJobs,
  ) {}

  async create(auth: AuthContext, dto: CreateContainerDto): Promise<ContainerChange> {
    const policy = await this.containers.teamPolicy(auth);
    assertSecurityAllowed(dto.security, policy);
    const mounts = checkMounts(dto.mounts ?? [], policy);
    const networkMode = dto.networkMode ?? 'bridge';
    const networkRequests = parseNetworkRequests(dto.networks);
    const ports = publishedPorts(dto);
    assertCreateOptions(
      { networkMode, networks: networkRequests.length, ports: ports.length, autoRemove: dto.autoRemove, restartPolicy: dto.restartPolicy },
      policy,
    );
    const image = normalizeImageReference(dto.image, 'image');
    // A container goes where the volumes it mounts live; otherwise where its image is.
    const { host, imageDigest } = await this.placement.place(auth, dto.host, mounts, image);
    const id = newId('container');
    const name = dto.name ?? `berth-${randomBytes(4).toString('hex')}`;
    const spec = specOf(dto, name, image, imageDigest);
    const desired: DesiredState = dto.start === false ? 'stopped' : 'running';
    const pull = await this.placement.pull(auth, image, dto.pullPolicy ?? 'missing', host);
    const now = new Date();
    const change = await this.tx.run(async () => {
      if (await this.containers.nameTaken(auth, name)) throw nameInUse(name);
      Object.assign(spec, await this.attachments.attach(auth, host.id, id, { mounts, networkMode, networkRequests, ports }));
      const container = newContainer({ id, teamId: auth.teamId, name, hostId: host.id, spec, desiredState: desired }, now);
      await this.containers.insert(auth, container);
      const operation = await this.jobs.converge(container, 'container.create', DEFAULT_STOP_TIMEOUT_SEC, { hostName: host.name, pull });
      return { container: await this.containers.get(auth, id), operation };
    });
    await this.jobs.enqueue(change.operation);
    void this.tx.afterCommit(() => this.attachments.announce());
    return change;
  }
}

function publishedPorts(dto: CreateContainerDto): PublishedPort[] {
  return (dto.ports ?? []).map((p) => ({
    hostPort: p.hostPort,
    containerPort: p.containerPort,
    protocol: p.protocol ?? ('tcp' as const),
    ...(p.hostIp ? { hostIp: p.hostIp } : {}),
  }));
}

/** The spec as asked for, with the defaults filled in; mounts, networks and ports come with the host's attachments. */
function specOf(dto: CreateContainerDto, name: string, image: string, imageDigest: string | undefined): ContainerSpec {
  return {
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
}
