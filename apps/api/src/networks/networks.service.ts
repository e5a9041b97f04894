import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import {
  AlreadyExistsError,
  Container,
  ContainerNetwork,
  FailedPreconditionError,
  Host,
  JobName,
  InvalidArgumentError,
  Network,
  NetworkEndpoint,
  NetworkRequest,
  NotFoundError,
  PublishedPort,
  UnavailableError,
  formatIpv4,
  isAssignable,
  newId,
  nextFreeAddress,
  parseIpv4,
  parseSubnet,
} from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { isUniqueViolation } from '../common/unique-violation';
import { API_CONFIG, ApiConfig } from '../config';
import { Transactions } from '../database/transactions';
import { JobProducer } from '../operations/job-producer';
import { jobFor } from '../operations/operation-queue';
import { insertNetwork } from './network-allocation';
import { CreateNetworkDto } from './network.dto';

export const DEFAULT_NETWORK_NAME = 'default';

export interface NetworkView {
  network: Network;
  endpoints: Array<NetworkEndpoint & { containerName: string }>;
}

/**
 * Networks and the addresses on them. Every address is allocated here, inside the
 * transaction that creates the container, and a unique index on (network,
 * address) makes sure no two endpoints ever share one.
 *
 * Hosts learn a network's members from `network.sync` jobs: every change of the
 * members bumps the network's revision in the transaction that makes it, and
 * `flushSyncs` (after the commit, and from the dispatcher for anything a Redis
 * outage held back) sends each revision to every host with members on it.
 */
@Injectable()
export class NetworksService {
  private readonly logger = new Logger('Networks');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly producer: JobProducer,
    private readonly unitOfWork: Transactions,
  ) {}

  async create(auth: AuthContext, dto: CreateNetworkDto): Promise<Network> {
    return this.db.transaction((tx) => this.insert(tx, auth.teamId, dto, false));
  }

  private insert(tx: EntityManager, teamId: string, dto: CreateNetworkDto, isDefault: boolean): Promise<Network> {
    return insertNetwork(tx, { teamId, pool: this.config.networkPool, request: dto, isDefault });
  }

  async list(auth: AuthContext): Promise<NetworkView[]> {
    const networks = await this.db.getRepository(Network).find({ where: { teamId: auth.teamId }, order: { createdAt: 'ASC' } });
    return this.views(auth.teamId, networks);
  }

  async get(auth: AuthContext, idOrName: string): Promise<NetworkView> {
    return (await this.views(auth.teamId, [await this.find(this.db.manager, auth.teamId, idOrName)]))[0];
  }

  /** Refused while containers are on it. */
  async remove(auth: AuthContext, idOrName: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const network = await this.find(tx, auth.teamId, idOrName);
      const members = await tx.getRepository(NetworkEndpoint).count({ where: { networkId: network.id } });
      if (members)
        throw new FailedPreconditionError(`network ${network.name} has ${members} container(s) on it; delete or disconnect them first`, 'NetworkInUse');
      await tx.getRepository(Network).delete({ id: network.id });
    });
  }

  /** Deletes the team's networks that have no containers (the default one stays). */
  async prune(auth: AuthContext): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const networks = await tx.getRepository(Network).find({ where: { teamId: auth.teamId, isDefault: false } });
      const busy = new Set(
        (await tx.getRepository(NetworkEndpoint).find({ where: { teamId: auth.teamId }, select: { networkId: true } })).map((e) => e.networkId),
      );
      const idle = networks.filter((n) => !busy.has(n.id));
      if (idle.length) await tx.getRepository(Network).delete({ id: In(idle.map((n) => n.id)) });
      return idle.map((n) => n.name);
    });
  }

  /**
   * Gives a new container its addresses, inside the create's transaction: on the
   * networks asked for, or on the team's default network (made on first use).
   */
  async allocate(
    teamId: string,
    hostId: string,
    containerId: string,
    requests: NetworkRequest[],
    tx: EntityManager = this.unitOfWork.manager,
  ): Promise<ContainerNetwork[]> {
    const wanted = requests.length ? requests : [{ network: DEFAULT_NETWORK_NAME, aliases: [] }];
    const out: ContainerNetwork[] = [];
    for (const [i, request] of wanted.entries()) {
      const network =
        request.network === DEFAULT_NETWORK_NAME && !requests.length
          ? await this.defaultNetwork(tx, teamId)
          : await this.find(tx, teamId, request.network, `networks[${i}]`).catch(async (err) => {
              if (request.network === DEFAULT_NETWORK_NAME) return this.defaultNetwork(tx, teamId);
              throw err;
            });
      if (out.some((o) => o.networkId === network.id)) {
        throw new InvalidArgumentError(
          `networks[${i}] names network ${network.name} twice`,
          [{ field: `networks[${i}]`, message: 'named twice' }],
          'InvalidNetworks',
        );
      }
      const ipAddress = await this.address(tx, network, request.ipAddress, `networks[${i}].ipAddress`);
      await tx
        .getRepository(NetworkEndpoint)
        .insert({ id: newId('endpoint'), teamId, networkId: network.id, containerId, hostId, ipAddress, aliases: request.aliases, createdAt: new Date() })
        .catch((err) => {
          throw isUniqueViolation(err) ? new AlreadyExistsError(`address ${ipAddress} on network ${network.name} is taken`, 'AddressInUse') : err;
        });
      out.push({
        networkId: network.id,
        name: network.name,
        bridge: network.bridge,
        subnet: network.subnet,
        gateway: network.gateway,
        internal: network.internal,
        ipAddress,
        aliases: request.aliases,
      });
    }
    await this.touch(
      out.map((n) => n.networkId),
      tx,
    );
    return out;
  }

  /** A container left one network. */
  async releaseOne(containerId: string, networkId: string, tx: EntityManager = this.unitOfWork.manager): Promise<void> {
    await tx.getRepository(NetworkEndpoint).delete({ containerId, networkId });
    await this.touch([networkId], tx);
  }

  /**
   * The members of these networks changed (or how they are reached did): the
   * hosts are sent the new revision by the next `flushSyncs`. Inside the
   * transaction that made the change.
   */
  async touch(networkIds: Iterable<string>, tx: EntityManager = this.unitOfWork.manager): Promise<void> {
    const ids = [...new Set(networkIds)];
    if (ids.length) await tx.getRepository(Network).increment({ id: In(ids) }, 'revision', 1);
  }

  /** The networks a container is on, or a host's containers are on. */
  async networksOf(where: { containerId: string } | { hostId: string }, tx: EntityManager = this.unitOfWork.manager): Promise<string[]> {
    return [...new Set((await tx.getRepository(NetworkEndpoint).find({ where, select: { networkId: true } })).map((e) => e.networkId))];
  }

  /**
   * Sends every network whose members changed since its last sync to each host that
   * has members on it (one job per host and revision: sending twice is harmless).
   * Never throws: what could not be sent stays behind for the next call.
   */
  async flushSyncs(limit = 100): Promise<number> {
    try {
      const pending = await this.db
        .getRepository(Network)
        .createQueryBuilder('n')
        .where('n.revision > n.syncedRevision')
        .orderBy('n.createdAt', 'ASC')
        .take(limit)
        .getMany();
      let sent = 0;
      for (const network of pending) {
        const { revision, job, hosts } = await this.db.transaction((tx) => this.syncJob(tx, network.id));
        for (const host of hosts) {
          await this.producer.add(jobFor(JobName.NetworkSync, host.name, job), `netsync-${network.id}-${revision}-${host.id}`);
        }
        await this.db
          .getRepository(Network)
          .createQueryBuilder()
          .update()
          .set({ syncedRevision: revision })
          .where('id = :id AND "syncedRevision" < :revision', { id: network.id, revision })
          .execute();
        sent++;
      }
      return sent;
    } catch (err) {
      this.logger.warn(`network syncs stay pending: ${(err as Error).message}`);
      return 0;
    }
  }

  /** The network's members now, as one consistent read with its revision. */
  private async syncJob(tx: EntityManager, networkId: string) {
    const network = await tx.getRepository(Network).findOneByOrFail({ id: networkId });
    const endpoints = await tx.getRepository(NetworkEndpoint).find({ where: { networkId }, order: { createdAt: 'ASC' } });
    const names = new Map(
      (await tx.getRepository(Container).find({ where: { id: In(endpoints.map((e) => e.containerId)) }, select: { id: true, name: true } })).map((c) => [
        c.id,
        c.name,
      ]),
    );
    const hosts = await tx.getRepository(Host).find({ where: { id: In([...new Set(endpoints.map((e) => e.hostId))]) }, order: { name: 'ASC' } });
    const job = {
      networkId,
      bridge: network.bridge,
      revision: network.revision,
      vni: network.vni,
      hosts: hosts.map((h) => ({ hostId: h.id, name: h.name, ...(h.info?.overlayAddress ? { overlayAddress: h.info.overlayAddress } : {}) })),
      endpoints: endpoints.map((e) => ({
        containerId: e.containerId,
        name: names.get(e.containerId) ?? e.containerId,
        hostId: e.hostId,
        ipAddress: e.ipAddress,
        aliases: e.aliases,
      })),
    };
    return { revision: network.revision, job, hosts };
  }

  /** The network's id, by id or name, within the team. */
  async idOf(auth: AuthContext, idOrName: string): Promise<string> {
    return (await this.find(this.db.manager, auth.teamId, idOrName)).id;
  }

  /** A container is gone: its addresses are free again. */
  async release(tx: EntityManager, containerId: string): Promise<void> {
    const networkIds = await this.networksOf({ containerId }, tx);
    await tx.getRepository(NetworkEndpoint).delete({ containerId });
    await this.touch(networkIds, tx);
  }

  /**
   * 409 when another container on the host (of any team) already publishes one of these ports
   * (same protocol and port, and the same address or a wildcard on either side).
   */
  async assertPortsFree(teamId: string, hostId: string, ports: PublishedPort[], tx: EntityManager = this.unitOfWork.manager): Promise<void> {
    if (!ports.length) return;
    const others = await tx.getRepository(Container).find({ where: { hostId } });
    for (const p of ports) {
      const clash = others.find(
        (c) =>
          c.status !== 'failed' &&
          (c.spec.ports ?? []).some(
            (q) =>
              q.hostPort === p.hostPort &&
              q.protocol === p.protocol &&
              (!q.hostIp || !p.hostIp || q.hostIp === '0.0.0.0' || p.hostIp === '0.0.0.0' || q.hostIp === p.hostIp),
          ),
      );
      // Another team's container is not named: its names are that team's own.
      const owner = clash && (clash.teamId === teamId ? `container ${clash.name}` : 'another team’s container');
      if (clash) throw new AlreadyExistsError(`port ${p.hostPort}/${p.protocol} on this host is already published by ${owner}`, 'PortInUse');
    }
  }

  private async address(tx: EntityManager, network: Network, fixed: string | undefined, field: string): Promise<string> {
    const subnet = parseSubnet(network.subnet);
    const gateway = parseIpv4(network.gateway);
    const range = network.ipRange ? parseSubnet(network.ipRange) : subnet;
    const taken = new Set(
      (await tx.getRepository(NetworkEndpoint).find({ where: { networkId: network.id }, select: { ipAddress: true } })).map((e) => parseIpv4(e.ipAddress)),
    );
    if (fixed) {
      const ip = parseIpv4(fixed, field);
      if (!isAssignable(subnet, gateway, ip))
        throw new InvalidArgumentError(
          `${fixed} is not an address containers can have on ${network.name} (${network.subnet})`,
          [{ field, message: 'not assignable on the network' }],
          'InvalidAddress',
        );
      if (taken.has(ip)) throw new AlreadyExistsError(`address ${fixed} on network ${network.name} is taken`, 'AddressInUse');
      return fixed;
    }
    const ip = nextFreeAddress(subnet, gateway, taken, range);
    if (ip === undefined) throw new UnavailableError(`network ${network.name} has no free address left`, 'NetworkFull');
    return formatIpv4(ip);
  }

  private async defaultNetwork(tx: EntityManager, teamId: string): Promise<Network> {
    return (await tx.getRepository(Network).findOneBy({ teamId, isDefault: true })) ?? this.insert(tx, teamId, { name: DEFAULT_NETWORK_NAME }, true);
  }

  private async find(tx: EntityManager, teamId: string, idOrName: string, field = 'id'): Promise<Network> {
    const found = await tx.getRepository(Network).findOne({
      where: [
        { teamId, id: idOrName },
        { teamId, name: idOrName },
      ],
    });
    if (!found) throw new NotFoundError(`network ${idOrName} not found (${field})`, 'NetworkNotFound');
    return found;
  }

  private async views(teamId: string, networks: Network[]): Promise<NetworkView[]> {
    if (!networks.length) return [];
    const endpoints = await this.db
      .getRepository(NetworkEndpoint)
      .find({ where: { teamId, networkId: In(networks.map((n) => n.id)) }, order: { createdAt: 'ASC' } });
    const names = new Map(
      (
        await this.db
          .getRepository(Container)
          .find({ where: { teamId, id: In([...new Set(endpoints.map((e) => e.containerId))]) }, select: { id: true, name: true } })
      ).map((c) => [c.id, c.name]),
    );
    return networks.map((network) => ({
      network,
      endpoints: endpoints.filter((e) => e.networkId === network.id).map((e) => ({ ...e, containerName: names.get(e.containerId) ?? e.containerId })),
    }));
  }
}
