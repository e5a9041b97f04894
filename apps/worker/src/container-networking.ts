import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ContainerNetwork, ContainerSpec, InvalidArgumentError, NetworkSyncJob, PublishedPort } from '@berth/domain';
import { renderHostsFile, type ContainerRuntime, type HostNetworks, type HostsEntry } from '@berth/runtime';
import { KeyedMutex } from './keyed-mutex';

/** What of a container's networking the worker keeps in its runtime metadata. */
export interface NetworkMetadata {
  name: string;
  hostname?: string;
  networks?: ContainerNetwork[];
}

type Networks = Pick<HostNetworks, 'attach' | 'detach' | 'removeNetwork' | 'reconcile' | 'setOverlay'>;

/** The containers this host has, with their network metadata (the worker's state files). */
export type Members = () => Promise<Array<{ id: string; meta: NetworkMetadata }>>;

/** How this host's bridges reach the other hosts' (unset: they do not, and only local peers are listed). */
export interface OverlaySettings {
  /** This host's underlay address (its heartbeat tells the API). */
  address: string;
  /** The MTU of containers' interfaces: the underlay's less VXLAN's overhead. */
  mtu: number;
}

export interface ContainerNetworkingOptions {
  /** This host's name, as `network.sync` jobs name hosts. */
  hostName?: string;
  /** Where the last `network.sync` of each network is kept (across restarts). */
  syncDir?: string;
  overlay?: OverlaySettings;
  /**
   * How long a bridge no container here uses any more is kept before it goes (with
   * its rules): a container that joins meanwhile finds it ready. 0 removes at once.
   */
  bridgeIdleMs?: number;
  onError?: (err: unknown, containerId: string) => void;
}

/**
 * A container's place on its networks, on this host: its namespace wired to the
 * networks' bridges before it is created, the bridges joined to the same networks'
 * bridges on other hosts (VXLAN), its /etc/hosts listing every peer it shares a
 * network with, here or on another host, kept current as containers come, go and
 * are renamed; and everything undone when it goes.
 *
 * Local members come from this host's state files; members on other hosts from the
 * control plane's `network.sync` jobs, of which the newest per network is kept.
 */
export class ContainerNetworking {
  private readonly syncLocks = new KeyedMutex();
  private readonly onError: (err: unknown, containerId: string) => void;
  /** Bridges no container here uses, by name: their removal, due when the idle time is up. */
  private readonly idleBridges = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly networks: Networks,
    private readonly runtime: Pick<ContainerRuntime, 'list' | 'setHosts'>,
    private readonly members: Members,
    private readonly options: ContainerNetworkingOptions = {},
  ) {
    this.onError = options.onError ?? (() => undefined);
  }

  /**
   * Before a create: joins the container's networks (a published port something on
   * the host already holds is refused, PortInUse, before anything is made).
   * Answers the namespace to create the container in.
   */
  async prepare(id: string, spec: ContainerSpec): Promise<string | undefined> {
    if ((spec.networkMode ?? 'bridge') !== 'bridge' || !spec.networks?.length) return undefined;
    this.keepBridges(spec.networks);
    const attached = await this.networks.attach(
      id,
      spec.networks.map(this.toEndpoint),
      (spec.ports ?? []).map((p) => ({ ...p })),
    );
    await this.joinOverlays(spec.networks);
    return attached.netnsPath;
  }

  /** A container joined or left networks: its namespace now has exactly `after` (the caller then refreshes hosts files). */
  async rewire(id: string, before: ContainerNetwork[], after: ContainerNetwork[], ports: PublishedPort[]): Promise<void> {
    this.keepBridges(after);
    await this.networks.attach(id, after.map(this.toEndpoint), after.length ? ports.map((p) => ({ ...p })) : []);
    await this.joinOverlays(after);
    await this.dropUnusedBridges(
      id,
      before.filter((b) => !after.some((a) => a.bridge === b.bridge)),
      after,
    );
  }

  /** After a container is gone (or its create failed): detaches it and drops bridges no one here uses. */
  async release(id: string, networks: ContainerNetwork[] | undefined): Promise<void> {
    if (!networks?.length) return;
    await this.networks.detach(id);
    await this.dropUnusedBridges(id, networks, []);
    await this.refreshHosts(new Set(networks.map((n) => n.networkId)));
  }

  /**
   * The control plane's view of a network's members: kept unless a newer one is
   * already here, then applied (the bridge's overlay peers, the hosts files).
   * Answers whether it was newer.
   */
  async sync(job: NetworkSyncJob): Promise<{ applied: boolean }> {
    return this.syncLocks.run(job.networkId, async () => {
      const known = await this.syncOf(job.networkId);
      if (known && known.revision >= job.revision) return { applied: false };
      await this.saveSync(job);
      try {
        // A network on this host alone had no link and needs none: nothing to run.
        if (this.peersOf(job).length || (known && this.peersOf(known).length)) await this.applyOverlay(job);
        await this.refreshHosts(new Set([job.networkId]));
      } catch (err) {
        // Not applied, so not kept: a retry of this revision, or the next one, applies it whole.
        await (known ? this.saveSync(known) : this.forgetSync(job.networkId));
        throw err;
      }
      return { applied: true };
    });
  }

  /** Stops the idle timers of pending bridge removals (the next start's reconcile removes what is still unused). */
  close(): void {
    for (const timer of this.idleBridges.values()) clearTimeout(timer);
    this.idleBridges.clear();
  }

  /** Deletes the bridges of `left` that no container here uses any more (`id` now has `kept`), now or once idle long enough. */
  private async dropUnusedBridges(id: string, left: ContainerNetwork[], kept: ContainerNetwork[]): Promise<void> {
    const inUse = await this.bridgesInUse(id);
    for (const n of kept) inUse.add(n.bridge);
    for (const n of left) {
      if (inUse.has(n.bridge)) continue;
      const idleMs = this.options.bridgeIdleMs ?? 0;
      if (idleMs <= 0) {
        await this.networks.removeNetwork(n.bridge).catch((err) => this.onError(err, id));
        continue;
      }
      clearTimeout(this.idleBridges.get(n.bridge));
      const timer = setTimeout(() => void this.removeIfIdle(n.bridge, id), idleMs);
      timer.unref();
      this.idleBridges.set(n.bridge, timer);
    }
  }

  private async removeIfIdle(bridge: string, lastUser: string): Promise<void> {
    this.idleBridges.delete(bridge);
    if ((await this.bridgesInUse()).has(bridge)) return;
    await this.networks.removeNetwork(bridge).catch((err: { reason?: string }) => {
      // A container joined while this ran: the bridge stays, as it should.
      if (err?.reason !== 'NetworkInUse') this.onError(err, lastUser);
    });
  }

  /** A container is about to join these networks: their bridges are not idle any more. */
  private keepBridges(networks: ContainerNetwork[]): void {
    for (const n of networks) {
      clearTimeout(this.idleBridges.get(n.bridge));
      this.idleBridges.delete(n.bridge);
    }
  }

  private async bridgesInUse(except?: string): Promise<Set<string>> {
    const others = (await this.members()).filter((m) => m.id !== except);
    return new Set(others.flatMap((c) => (c.meta.networks ?? []).map((n) => n.bridge)));
  }

  /** Rewrites /etc/hosts of every container here on one of these networks. */
  async refreshHosts(networkIds: Set<string>): Promise<void> {
    if (!this.runtime.setHosts || !networkIds.size) return;
    const containers = await this.members();
    const syncs = new Map<string, NetworkSyncJob>();
    for (const networkId of new Set(containers.flatMap((c) => (c.meta.networks ?? []).map((n) => n.networkId)))) {
      const sync = await this.syncOf(networkId);
      if (sync) syncs.set(networkId, sync);
    }
    // The control plane's names are newer than a state file's (a rename changes no container here).
    const names = new Map([...syncs.values()].flatMap((s) => s.endpoints.map((e) => [e.containerId, e.name] as const)));
    const local = new Set(containers.map((c) => c.id));
    for (const c of containers) {
      const mine = c.meta.networks ?? [];
      if (!mine.some((n) => networkIds.has(n.networkId))) continue;
      const shared = new Set(mine.map((n) => n.networkId));
      const name = names.get(c.id) ?? c.meta.name;
      const hostname = c.meta.hostname ?? name;
      const self: HostsEntry[] = mine.map((n) => ({ name: hostname, aliases: [name, ...n.aliases].filter((a) => a !== hostname), ip: n.ipAddress }));
      const peers: HostsEntry[] = containers
        .filter((p) => p.id !== c.id)
        .flatMap((p) =>
          (p.meta.networks ?? [])
            .filter((n) => shared.has(n.networkId))
            .map((n) => ({ name: names.get(p.id) ?? p.meta.name, aliases: n.aliases, ip: n.ipAddress })),
        );
      for (const networkId of shared) {
        for (const e of this.remoteMembers(syncs.get(networkId)))
          if (!local.has(e.containerId)) peers.push({ name: e.name, aliases: e.aliases, ip: e.ipAddress });
      }
      await this.runtime.setHosts(c.id, renderHostsFile({ self, peers })).catch((err) => this.onError(err, c.id));
    }
  }

  /** At start: removes namespaces, bridges and rules of containers this host no longer has, and syncs of networks it is off. */
  async reconcile(): Promise<void> {
    const present = new Set((await this.runtime.list()).map((c) => c.id));
    const kept = (await this.members()).filter((m) => present.has(m.id));
    await this.networks.reconcile({
      containers: kept.map((c) => c.id),
      bridges: [...new Set(kept.flatMap((c) => (c.meta.networks ?? []).map((n) => n.bridge)))],
    });
    if (!this.options.syncDir) return;
    const on = new Set(kept.flatMap((c) => (c.meta.networks ?? []).map((n) => n.networkId)));
    for (const file of await readdir(this.options.syncDir).catch(() => [] as string[])) {
      if (file.endsWith('.json') && !on.has(file.slice(0, -'.json'.length))) await rm(join(this.options.syncDir, file), { force: true });
    }
  }

  /** Members on other hosts this host can reach (both ends have an overlay address). */
  private remoteMembers(sync: NetworkSyncJob | undefined): NetworkSyncJob['endpoints'] {
    if (!sync || !this.options.overlay) return [];
    const reachable = new Set(sync.hosts.filter((h) => h.name !== this.options.hostName && h.overlayAddress).map((h) => h.hostId));
    return sync.endpoints.filter((e) => reachable.has(e.hostId));
  }

  /** After an attach: bridges just made join their networks' other hosts, as the last sync says. */
  private async joinOverlays(networks: ContainerNetwork[]): Promise<void> {
    for (const n of networks) {
      const sync = await this.syncOf(n.networkId);
      if (sync && this.peersOf(sync).length) await this.applyOverlay(sync);
    }
  }

  private async applyOverlay(sync: NetworkSyncJob): Promise<void> {
    if (!this.options.overlay) return;
    await this.networks.setOverlay(sync.bridge, { vni: sync.vni, localAddress: this.options.overlay.address, peers: this.peersOf(sync) });
  }

  /** The overlay addresses of the other hosts with members (none when this host has no overlay). */
  private peersOf(sync: NetworkSyncJob): string[] {
    const overlay = this.options.overlay;
    if (!overlay) return [];
    return sync.hosts.filter((h) => h.name !== this.options.hostName && h.overlayAddress && h.overlayAddress !== overlay.address).map((h) => h.overlayAddress!);
  }

  private async syncOf(networkId: string): Promise<NetworkSyncJob | undefined> {
    if (!this.options.syncDir) return undefined;
    try {
      return JSON.parse(await readFile(join(this.options.syncDir, `${networkId}.json`), 'utf8')) as NetworkSyncJob;
    } catch {
      return undefined;
    }
  }

  private async forgetSync(networkId: string): Promise<void> {
    if (this.options.syncDir) await rm(join(this.options.syncDir, `${networkId}.json`), { force: true });
  }

  private async saveSync(job: NetworkSyncJob): Promise<void> {
    const dir = this.options.syncDir;
    if (!dir) return;
    if (!/^[A-Za-z0-9_-]+$/.test(job.networkId)) throw new InvalidArgumentError(`invalid network id ${JSON.stringify(job.networkId)}`);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.${job.networkId}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(job));
    await rename(tmp, join(dir, `${job.networkId}.json`));
  }

  private readonly toEndpoint = (n: ContainerNetwork) => ({
    networkId: n.networkId,
    name: n.name,
    bridge: n.bridge,
    subnet: n.subnet,
    gateway: n.gateway,
    ipAddress: n.ipAddress,
    internal: n.internal,
    ...(this.options.overlay ? { mtu: this.options.overlay.mtu } : {}),
  });
}
