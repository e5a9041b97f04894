import { Inject, Injectable } from '@nestjs/common';
import {
  AlreadyExistsError,
  ContainerNetwork,
  FailedPreconditionError,
  InvalidArgumentError,
  Network,
  NetworkRequest,
  NotFoundError,
  PublishedPort,
  assignAddress,
  findPortClash,
  newId,
} from '@berth/domain';
import { AuthContext, TeamScope } from '../common/auth-context';
import { isUniqueViolation } from '../common/unique-violation';
import { API_CONFIG, ApiConfig } from '../config';
import { Transactions } from '../database/transactions';
import { createNetwork } from './network-allocation';
import { NetworkSyncs } from './network-syncs.service';
import { CreateNetworkDto } from './network.dto';
import { NamedEndpoint, NetworksRepository } from './networks.repository';

export const DEFAULT_NETWORK_NAME = 'default';

export interface NetworkView {
  network: Network;
  endpoints: NamedEndpoint[];
}

/**
 * Networks and the addresses on them. Every address is allocated here, inside the
 * transaction that creates the container, and a unique index on (network,
 * address) makes sure no two endpoints ever share one.
 *
 * The methods other features call inside their `Transactions.run` (allocate,
 * releaseOne, release, touch, networksOf, assertPortsFree) join it. Every change
 * of the members bumps the network's revision in that transaction; `flushSyncs`
 * sends it to the hosts afterwards.
 */
@Injectable()
export class NetworksService {
  constructor(
    private readonly networks: NetworksRepository,
    private readonly tx: Transactions,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly syncs: NetworkSyncs,
  ) {}

  create(auth: AuthContext, dto: CreateNetworkDto): Promise<Network> {
    return this.tx.run(() => this.insert(auth.teamId, dto, false));
  }

  private insert(teamId: string, request: CreateNetworkDto, isDefault: boolean): Promise<Network> {
    return createNetwork(this.networks, { teamId, pool: this.config.networkPool, request, isDefault });
  }

  async list(auth: AuthContext): Promise<NetworkView[]> {
    return this.views(auth, await this.networks.list(auth));
  }

  async get(auth: AuthContext, idOrName: string): Promise<NetworkView> {
    return (await this.views(auth, [await this.find(auth, idOrName)]))[0];
  }

  /** The network's id, by id or name, within the team. */
  async idOf(auth: AuthContext, idOrName: string): Promise<string> {
    return (await this.find(auth, idOrName)).id;
  }

  /** Refused while containers are on it. */
  async remove(auth: AuthContext, idOrName: string): Promise<void> {
    await this.tx.run(async () => {
      const network = await this.find(auth, idOrName);
      const members = await this.networks.countEndpoints(auth, network.id);
      if (members)
        throw new FailedPreconditionError(`network ${network.name} has ${members} container(s) on it; delete or disconnect them first`, 'NetworkInUse');
      await this.networks.delete(auth, [network.id]);
    });
  }

  /** Deletes the team's networks that have no containers (the default one stays); answers their names. */
  async prune(auth: AuthContext): Promise<string[]> {
    return this.tx.run(async () => {
      const networks = await this.networks.listNonDefault(auth);
      const busy = await this.networks.networksInUse(auth);
      const idle = networks.filter((n) => !busy.has(n.id));
      await this.networks.delete(
        auth,
        idle.map((n) => n.id),
      );
      return idle.map((n) => n.name);
    });
  }

  /**
   * Gives a new container its addresses, inside the caller's transaction: on the
   * networks asked for, or on the team's default network (made on first use).
   */
  async allocate(teamId: string, hostId: string, containerId: string, requests: NetworkRequest[]): Promise<ContainerNetwork[]> {
    const scope: TeamScope = { teamId };
    const wanted = requests.length ? requests : [{ network: DEFAULT_NETWORK_NAME, aliases: [] }];
    const out: ContainerNetwork[] = [];
    for (const [i, request] of wanted.entries()) {
      const network =
        request.network === DEFAULT_NETWORK_NAME && !requests.length
          ? await this.defaultNetwork(scope)
          : await this.find(scope, request.network, `networks[${i}]`).catch(async (err) => {
              if (request.network === DEFAULT_NETWORK_NAME) return this.defaultNetwork(scope);
              throw err;
            });
      if (out.some((o) => o.networkId === network.id)) {
        throw new InvalidArgumentError(
          `networks[${i}] names network ${network.name} twice`,
          [{ field: `networks[${i}]`, message: 'named twice' }],
          'InvalidNetworks',
        );
      }
      const taken = await this.networks.takenAddresses(scope, network.id);
      const ipAddress = assignAddress(network, taken, request.ipAddress, `networks[${i}].ipAddress`);
      const endpoint = {
        id: newId('endpoint'),
        teamId,
        networkId: network.id,
        containerId,
        hostId,
        ipAddress,
        aliases: request.aliases,
        createdAt: new Date(),
      };
      await this.networks.insertEndpoint(scope, endpoint).catch((err) => {
        throw isUniqueViolation(err) ? new AlreadyExistsError(`address ${ipAddress} on network ${network.name} is taken`, 'AddressInUse') : err;
      });
      const { name, bridge, subnet, gateway, internal } = network;
      out.push({ networkId: network.id, name, bridge, subnet, gateway, internal, ipAddress, aliases: request.aliases });
    }
    await this.touch(out.map((n) => n.networkId));
    return out;
  }

  /** A container left one network (inside the caller's transaction). */
  async releaseOne(containerId: string, networkId: string): Promise<void> {
    await this.networks.deleteEndpoints(containerId, networkId);
    await this.touch([networkId]);
  }

  /** A container is gone: its addresses are free again (inside the caller's transaction). */
  async release(containerId: string): Promise<void> {
    const networkIds = await this.networksOf({ containerId });
    await this.networks.deleteEndpoints(containerId);
    await this.touch(networkIds);
  }

  /**
   * The members of these networks changed (or how they are reached did): the
   * hosts are sent the new revision by the next `flushSyncs`. Inside the
   * transaction that made the change.
   */
  async touch(networkIds: Iterable<string>): Promise<void> {
    await this.networks.bumpRevisions([...new Set(networkIds)]);
  }

  /** The networks a container is on, or a host's containers are on. */
  networksOf(where: { containerId: string } | { hostId: string }): Promise<string[]> {
    return this.networks.networkIdsOf(where);
  }

  /**
   * 409 when another container on the host (of any team) already publishes one of these ports
   * (same protocol and port, and the same address or a wildcard on either side).
   */
  async assertPortsFree(teamId: string, hostId: string, ports: PublishedPort[]): Promise<void> {
    if (!ports.length) return;
    const clash = findPortClash(ports, await this.networks.portPublishersOn(hostId));
    if (!clash) return;
    // Another team's container is not named: its names are that team's own.
    const owner = clash.holder.teamId === teamId ? `container ${clash.holder.name}` : 'another team’s container';
    throw new AlreadyExistsError(`port ${clash.port.hostPort}/${clash.port.protocol} on this host is already published by ${owner}`, 'PortInUse');
  }

  /** Sends the hosts every network revision they have not had yet; never throws (see NetworkSyncs). */
  flushSyncs(limit = 100): Promise<number> {
    return this.syncs.flush(limit);
  }

  private async defaultNetwork(scope: TeamScope): Promise<Network> {
    return (await this.networks.findDefault(scope)) ?? this.insert(scope.teamId, { name: DEFAULT_NETWORK_NAME }, true);
  }

  private async find(scope: TeamScope, idOrName: string, field = 'id'): Promise<Network> {
    const found = await this.networks.find(scope, idOrName);
    if (!found) throw new NotFoundError(`network ${idOrName} not found (${field})`, 'NetworkNotFound');
    return found;
  }

  private async views(scope: TeamScope, networks: Network[]): Promise<NetworkView[]> {
    if (!networks.length) return [];
    const endpoints = await this.networks.endpointsOn(
      scope,
      networks.map((n) => n.id),
    );
    return networks.map((network) => ({ network, endpoints: endpoints.filter((e) => e.networkId === network.id) }));
  }
}
