import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { Container, Network, NetworkEndpoint, PublishedPort } from '@berth/domain';
import { TeamScope, teamIdOf } from '../common/auth-context';
import { Transactions } from '../database/transactions';

/** The advisory lock network creates hold on PostgreSQL. */
const NETWORK_CREATE_LOCK = 0x4245_5254_484e;

/** An endpoint with the name of its container, as lists and hosts show it. */
export type NamedEndpoint = NetworkEndpoint & { containerName: string };

/** A container publishing ports on a host, of any team. */
export interface HostPortPublisher {
  teamId: string;
  name: string;
  status: string;
  ports: PublishedPort[];
}

/**
 * Every query of networks, their endpoints (one container's address on one
 * network) and the bookkeeping of their syncs to the hosts. A team's reads and
 * writes take its scope; what spans teams is listed in `systemQueries`.
 */
@Injectable()
export class NetworksRepository {
  static readonly systemQueries = [
    // Creates take turns, and subnets and VNIs are unique across every team (bridges share the hosts' routing).
    'lockCreates',
    'allNetworks',
    'maxVni',
    // Containers and the reports consumer release and re-sync by container or host id, ids they have scoped already.
    'networkIdsOf',
    'deleteEndpoints',
    'bumpRevisions',
    // A host port is the host's, whichever team publishes it.
    'portPublishersOn',
    // The sync of a network to its hosts is background work (after a commit, or the dispatcher's sweep).
    'pendingSyncs',
    'syncSnapshot',
    'markSynced',
  ] as const;

  constructor(private readonly tx: Transactions) {}

  private get networks() {
    return this.tx.repository(Network);
  }

  private get endpoints() {
    return this.tx.repository(NetworkEndpoint);
  }

  /** Holds the network-create lock until the transaction ends (PostgreSQL; SQLite runs one write transaction at a time anyway). */
  async lockCreates(): Promise<void> {
    if (this.tx.dialect === 'postgres') await this.tx.manager.query('SELECT pg_advisory_xact_lock($1)', [NETWORK_CREATE_LOCK]);
  }

  /** Every team's networks, as far as a create must know them (their subnets must not overlap; names are per team). */
  allNetworks(): Promise<Pick<Network, 'subnet' | 'name' | 'teamId'>[]> {
    return this.networks.find({ select: { subnet: true, name: true, teamId: true } });
  }

  /** The highest VNI handed out, if any. */
  async maxVni(): Promise<number | null> {
    const max = await this.networks.maximum('vni');
    return max === null || max === undefined ? null : Number(max);
  }

  async insert(scope: TeamScope, network: Network): Promise<void> {
    await this.networks.insert({ ...network, teamId: teamIdOf(scope) });
  }

  list(scope: TeamScope): Promise<Network[]> {
    return this.networks.find({ where: { teamId: teamIdOf(scope) }, order: { createdAt: 'ASC' } });
  }

  /** By id or by name. */
  find(scope: TeamScope, idOrName: string): Promise<Network | null> {
    const teamId = teamIdOf(scope);
    return this.networks.findOne({
      where: [
        { teamId, id: idOrName },
        { teamId, name: idOrName },
      ],
    });
  }

  findDefault(scope: TeamScope): Promise<Network | null> {
    return this.networks.findOneBy({ teamId: teamIdOf(scope), isDefault: true });
  }

  /** The team's networks other than its default one. */
  listNonDefault(scope: TeamScope): Promise<Network[]> {
    return this.networks.find({ where: { teamId: teamIdOf(scope), isDefault: false } });
  }

  async delete(scope: TeamScope, ids: string[]): Promise<void> {
    if (ids.length) await this.networks.delete({ teamId: teamIdOf(scope), id: In(ids) });
  }

  countEndpoints(scope: TeamScope, networkId: string): Promise<number> {
    return this.endpoints.count({ where: { teamId: teamIdOf(scope), networkId } });
  }

  /** The ids of the team's networks that have a container on them. */
  async networksInUse(scope: TeamScope): Promise<Set<string>> {
    return new Set((await this.endpoints.find({ where: { teamId: teamIdOf(scope) }, select: { networkId: true } })).map((e) => e.networkId));
  }

  /** The addresses containers hold on the network. */
  async takenAddresses(scope: TeamScope, networkId: string): Promise<string[]> {
    return (await this.endpoints.find({ where: { teamId: teamIdOf(scope), networkId }, select: { ipAddress: true } })).map((e) => e.ipAddress);
  }

  /** Writes an endpoint; a unique index refuses a second container on one address (the error is the driver's). */
  async insertEndpoint(scope: TeamScope, endpoint: NetworkEndpoint): Promise<void> {
    await this.endpoints.insert({ ...endpoint, teamId: teamIdOf(scope) });
  }

  /** The team's endpoints on these networks, oldest first, with their containers' names. */
  async endpointsOn(scope: TeamScope, networkIds: string[]): Promise<NamedEndpoint[]> {
    const teamId = teamIdOf(scope);
    const endpoints = await this.endpoints.find({ where: { teamId, networkId: In(networkIds) }, order: { createdAt: 'ASC' } });
    return this.#named(endpoints, teamId);
  }

  /** The networks a container is on, or a host's containers are on. */
  async networkIdsOf(where: { containerId: string } | { hostId: string }): Promise<string[]> {
    return [...new Set((await this.endpoints.find({ where, select: { networkId: true } })).map((e) => e.networkId))];
  }

  /** A container's endpoints: all of them, or the one on `networkId`. */
  async deleteEndpoints(containerId: string, networkId?: string): Promise<void> {
    await this.endpoints.delete(networkId === undefined ? { containerId } : { containerId, networkId });
  }

  /** The members of these networks changed: a new revision for the hosts. */
  async bumpRevisions(networkIds: string[]): Promise<void> {
    if (networkIds.length) await this.networks.increment({ id: In(networkIds) }, 'revision', 1);
  }

  /** The containers on a host, of every team, with the ports they publish. */
  async portPublishersOn(hostId: string): Promise<HostPortPublisher[]> {
    const containers = await this.tx.repository(Container).find({ where: { hostId }, select: { teamId: true, name: true, status: true, spec: true } });
    return containers.map((c) => ({ teamId: c.teamId, name: c.name, status: c.status, ports: c.spec.ports ?? [] }));
  }

  /** Networks whose members changed since their last sync, oldest first. */
  pendingSyncs(limit: number): Promise<Network[]> {
    return this.networks.createQueryBuilder('n').where('n.revision > n.syncedRevision').orderBy('n.createdAt', 'ASC').take(limit).getMany();
  }

  /** The network and its members now (oldest first, with their containers' names): read in one transaction, one consistent revision. */
  async syncSnapshot(networkId: string): Promise<{ network: Network; endpoints: NamedEndpoint[] }> {
    const network = await this.networks.findOneByOrFail({ id: networkId });
    const endpoints = await this.endpoints.find({ where: { networkId }, order: { createdAt: 'ASC' } });
    return { network, endpoints: await this.#named(endpoints) };
  }

  /** The hosts were sent `revision`; never moves the mark back. */
  async markSynced(networkId: string, revision: number): Promise<void> {
    await this.networks
      .createQueryBuilder()
      .update()
      .set({ syncedRevision: revision })
      .where('id = :id AND "syncedRevision" < :revision', { id: networkId, revision })
      .execute();
  }

  /** Endpoints with the names of their containers (the container id where it is gone). */
  async #named(endpoints: NetworkEndpoint[], teamId?: string): Promise<NamedEndpoint[]> {
    if (!endpoints.length) return [];
    const ids = [...new Set(endpoints.map((e) => e.containerId))];
    const containers = await this.tx.repository(Container).find({ where: { id: In(ids), ...(teamId ? { teamId } : {}) }, select: { id: true, name: true } });
    const names = new Map(containers.map((c) => [c.id, c.name]));
    return endpoints.map((e) => ({ ...e, containerName: names.get(e.containerId) ?? e.containerId }));
  }
}
