import { ContainerNetwork, ContainerSpec, PublishedPort } from '@berth/domain';
import { renderHostsFile, type ContainerRuntime, type HostNetworks, type HostsEntry } from '@berth/runtime';

/** What of a container's networking the worker keeps in its runtime metadata. */
export interface NetworkMetadata {
  name: string;
  hostname?: string;
  networks?: ContainerNetwork[];
}

type Networks = Pick<HostNetworks, 'attach' | 'detach' | 'removeNetwork' | 'reconcile'>;

/** The containers this host has, with their network metadata (the worker's state files). */
export type Members = () => Promise<Array<{ id: string; meta: NetworkMetadata }>>;

/**
 * A container's place on its networks, on this host: its namespace wired to the
 * networks' bridges before it is created, its /etc/hosts listing the peers it
 * shares a network with (kept current as containers come and go), and everything
 * undone when it goes. Peers on other hosts are not reachable (one bridge per
 * network per host), so only this host's containers are listed.
 */
export class ContainerNetworking {
  constructor(
    private readonly networks: Networks,
    private readonly runtime: Pick<ContainerRuntime, 'list' | 'setHosts'>,
    private readonly members: Members,
    private readonly onError: (err: unknown, containerId: string) => void = () => undefined,
  ) {}

  /**
   * Before a create: joins the container's networks (a published port something on
   * the host already holds is refused, PortInUse, before anything is made).
   * Answers the namespace to create the container in.
   */
  async prepare(id: string, spec: ContainerSpec): Promise<string | undefined> {
    if ((spec.networkMode ?? 'bridge') !== 'bridge' || !spec.networks?.length) return undefined;
    const attached = await this.networks.attach(id, spec.networks.map(toEndpoint), (spec.ports ?? []).map((p) => ({ ...p })));
    return attached.netnsPath;
  }

  /** A container joined or left networks: its namespace now has exactly `after` (the caller then refreshes hosts files). */
  async rewire(id: string, before: ContainerNetwork[], after: ContainerNetwork[], ports: PublishedPort[]): Promise<void> {
    await this.networks.attach(id, after.map(toEndpoint), after.length ? ports.map((p) => ({ ...p })) : []);
    await this.dropUnusedBridges(id, before.filter((b) => !after.some((a) => a.bridge === b.bridge)), after);
  }

  /** After a container is gone (or its create failed): detaches it and drops bridges no one here uses. */
  async release(id: string, networks: ContainerNetwork[] | undefined): Promise<void> {
    if (!networks?.length) return;
    await this.networks.detach(id);
    await this.dropUnusedBridges(id, networks, []);
    await this.refreshHosts(new Set(networks.map((n) => n.networkId)));
  }

  /** Deletes the bridges of `left` that no container here uses any more (`id` now has `kept`). */
  private async dropUnusedBridges(id: string, left: ContainerNetwork[], kept: ContainerNetwork[]): Promise<void> {
    const others = (await this.members()).filter((m) => m.id !== id);
    const inUse = new Set([...others.flatMap((c) => (c.meta.networks ?? []).map((n) => n.bridge)), ...kept.map((n) => n.bridge)]);
    for (const n of left) {
      if (!inUse.has(n.bridge)) await this.networks.removeNetwork(n.bridge).catch((err) => this.onError(err, id));
    }
  }

  /** Rewrites /etc/hosts of every container here on one of these networks. */
  async refreshHosts(networkIds: Set<string>): Promise<void> {
    if (!this.runtime.setHosts || !networkIds.size) return;
    const containers = await this.members();
    for (const c of containers) {
      const mine = c.meta.networks ?? [];
      if (!mine.some((n) => networkIds.has(n.networkId))) continue;
      const shared = new Set(mine.map((n) => n.networkId));
      const self: HostsEntry[] = mine.map((n) => ({ name: c.meta.hostname ?? c.meta.name, aliases: [c.meta.name, ...n.aliases].filter((a) => a !== (c.meta.hostname ?? c.meta.name)), ip: n.ipAddress }));
      const peers: HostsEntry[] = containers
        .filter((p) => p.id !== c.id)
        .flatMap((p) => (p.meta.networks ?? []).filter((n) => shared.has(n.networkId)).map((n) => ({ name: p.meta.name, aliases: n.aliases, ip: n.ipAddress })));
      await this.runtime.setHosts(c.id, renderHostsFile({ self, peers })).catch((err) => this.onError(err, c.id));
    }
  }

  /** At start: removes namespaces, bridges and rules of containers this host no longer has. */
  async reconcile(): Promise<void> {
    const present = new Set((await this.runtime.list()).map((c) => c.id));
    const kept = (await this.members()).filter((m) => present.has(m.id));
    await this.networks.reconcile({
      containers: kept.map((c) => c.id),
      bridges: [...new Set(kept.flatMap((c) => (c.meta.networks ?? []).map((n) => n.bridge)))],
    });
  }
}

function toEndpoint(n: ContainerNetwork) {
  return { networkId: n.networkId, name: n.name, bridge: n.bridge, subnet: n.subnet, gateway: n.gateway, ipAddress: n.ipAddress, internal: n.internal };
}
