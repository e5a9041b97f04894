import { FailedPreconditionError, InvalidArgumentError } from '@berth/domain';
import { checkedId } from '../shared/container-id';
import { execFileRunner, type ProcessRunner } from '../shared/process-runner';
import { SharedExclusiveLock } from '../shared/shared-exclusive-lock';
import { AttachmentRecords, HOST_PORT_ANY, recordAddresses, recordBridge, sameAttachment, type AttachResult } from './attachment-records';
import { CniRunner, type CniAttachment, type CniResult } from './cni';
import { cniExecInNetns, type CniExec } from './cni-exec';
import { pruneSharedChains, sweepLeftovers, type LeftoverFilter } from './cni-leftovers';
import { CNI_VERSION, cniPortMappings, endpointConfigList } from './conflist';
import { checkedPortMappings, portsCollide, resolveEndpoints, type Endpoint, type PortMapping, type PortProtocol } from './endpoint';
import { HostLinks } from './host-links';
import { canBindHostPort } from './host-ports';
import { Iptables } from './iptables';
import { networkOf, parseSubnet, subnetContains, type Ipv4Subnet } from './ipv4';
import { ensureBridgeIsolation, ensureIsolationFirst, removeBridgeIsolation, removeIsolationIfUnused } from './isolation';
import { NamespaceMarks } from './namespace-marks';
import { NetworkNamespaces, runnerInNetns } from './netns';
import { checkedBridgeName, hostVethName, netnsPath } from './network-names';
import { NetworkRegistry, networkConflict, networkConflictError, networkRecordOf, sameNetwork, type HostNetworkRecord } from './network-registry';
import { Overlays, VXLAN_OVERHEAD, type OverlaySpec } from './overlay';

export type { AttachedInterface, AttachResult } from './attachment-records';

export interface HostNetworksOptions {
  /** Attachment records and the host's network records live here (keep it across restarts). */
  stateDir: string;
  /** Where the CNI plugins are (default /usr/lib/cni, then /opt/cni/bin). */
  pluginDirs?: string[];
  /** Each plugin call is killed after this long (default 20 s). */
  pluginTimeoutMs?: number;
  /** Runs ip, sysctl and iptables; tests may swap it. */
  runner?: ProcessRunner;
  /** Runs the CNI plugins; tests may swap it. */
  cniExec?: CniExec;
  /**
   * The network namespace (a path such as /var/run/netns/x) that plays the host:
   * bridges, host veths, routes and iptables rules are made there instead of in the
   * worker's own namespace. For several workers on one machine, each its own "host".
   * (The probe of whether a host port is free still binds in the worker's namespace.)
   */
  hostNetns?: string;
}

export interface ReconcileKeep {
  containers: readonly string[];
  bridges: readonly string[];
}

/** What a reconcile removed, for the worker's log. */
export interface ReconcileReport {
  /** Containers whose networking went: attachments, namespace, host veths, rules. */
  containers: string[];
  bridges: string[];
  /** Plugin rules found and deleted by the sweep (DEL normally leaves none). */
  iptablesRules: number;
  /** Shared chains deleted because nothing on the host used them any more (Berth's and the plugins'). */
  chains: string[];
  /** Failures that did not stop the rest of the reconcile. */
  errors: string[];
}

/**
 * The host side of Berth networks: a named network namespace per container,
 * joined to its networks' bridges by the standard CNI plugins (bridge with a
 * static address from the control plane, portmap, firewall), isolated from other
 * networks by Berth's own iptables chains.
 *
 * A worker owns what its state dir records: the namespaces it marked, the
 * attachments it made, the bridges of its networks. Cleanup (detach, removeNetwork,
 * reconcile) touches only those, so several workers, or test runs, can share a
 * host; the shared chains go only once nothing on the host uses them.
 *
 * Every operation holds one lock per instance: the plugins and the isolation
 * chains share bridges and iptables.
 */
export class HostNetworks {
  private readonly cni: CniRunner;
  private readonly namespaces: NetworkNamespaces;
  private readonly marks: NamespaceMarks;
  private readonly links: HostLinks;
  private readonly iptables: Iptables;
  private readonly registry: NetworkRegistry;
  private readonly overlays: Overlays;
  private readonly attachments: AttachmentRecords;
  private readonly lock = new SharedExclusiveLock();

  constructor(options: HostNetworksOptions) {
    const { stateDir, pluginDirs, pluginTimeoutMs: timeoutMs, hostNetns } = options;
    const base = options.runner ?? execFileRunner;
    const runner = hostNetns ? runnerInNetns(base, hostNetns) : base;
    const exec = options.cniExec ?? (hostNetns ? cniExecInNetns(hostNetns) : undefined);
    this.cni = new CniRunner({ stateDir, pluginDirs, timeoutMs, exec });
    this.attachments = new AttachmentRecords(this.cni);
    // `ip netns add` makes a new namespace whichever one it runs in; `ip -n` and `ip netns exec` name theirs.
    this.namespaces = new NetworkNamespaces({ runner: base });
    this.marks = new NamespaceMarks(stateDir);
    this.links = new HostLinks({ runner });
    this.iptables = new Iptables({ runner });
    this.registry = new NetworkRegistry(stateDir);
    this.overlays = new Overlays({ runner, links: this.links });
  }

  /**
   * Joins the bridge to the same network's bridges on other hosts (a VXLAN link),
   * or leaves them when `spec` has no peers or is undefined. Does nothing, and
   * answers false, while the bridge is not on this host (no member here yet): the
   * caller applies it again after the next attach.
   */
  async setOverlay(bridge: string, spec: OverlaySpec | undefined): Promise<boolean> {
    checkedBridgeName(bridge);
    return this.lock.exclusive(async () => {
      if (!spec?.peers.length) {
        await this.overlays.remove(bridge);
        return false;
      }
      if (!(await this.registry.get(bridge)) || !(await this.links.get(bridge))) return false;
      await this.overlays.ensure(bridge, spec);
      return true;
    });
  }

  /** The IPv4 address of the link the default route leaves by, if there is one. */
  async defaultRouteAddress(): Promise<string | undefined> {
    return this.links.defaultRouteAddress();
  }

  /** The MTU containers get when their networks may span hosts: the underlay link's, less VXLAN's overhead. */
  async overlayMtu(localAddress: string): Promise<number | undefined> {
    const mtu = (await this.links.holding(localAddress))?.mtu;
    return mtu === undefined ? undefined : mtu - VXLAN_OVERHEAD;
  }

  /**
   * Converges a container's networking to exactly these endpoints and published
   * ports (ports go through the first endpoint): creates its namespace if needed,
   * keeps attachments that still match (and pass CNI CHECK), removes the others and
   * adds the missing ones. A failure undoes what this call added.
   */
  async attach(containerId: string, endpoints: readonly Endpoint[], ports: readonly PortMapping[] = []): Promise<AttachResult> {
    checkedId(containerId);
    const resolved = resolveEndpoints(endpoints);
    const mappings = checkedPortMappings(ports);
    if (mappings.length && !resolved.length) throw new InvalidArgumentError('published ports need a network');
    if (mappings.length && resolved[0].internal) {
      throw new InvalidArgumentError(`ports cannot be published through internal network ${resolved[0].name}`);
    }
    return this.lock.exclusive(async () => {
      await this.attachments.refuseTakenPorts(containerId, mappings);
      const networks = resolved.map(networkRecordOf);
      await this.refuseNetworkConflicts(networks);

      const path = netnsPath(containerId);
      const wanted: CniAttachment[] = resolved.map((endpoint, index) => ({
        containerId,
        ifName: endpoint.ifName,
        netnsPath: path,
        config: endpointConfigList(endpoint),
        ...(index === 0 && mappings.length ? { runtimeConfig: { portMappings: cniPortMappings(mappings) } } : {}),
      }));

      const hadNetns = await this.namespaces.exists(containerId);
      const kept = hadNetns ? await this.keepMatching(containerId, wanted) : new Set<string>();
      for (const record of (await this.cni.records(containerId)).reverse()) {
        if (!kept.has(record.ifName)) await this.cni.del(record);
      }
      await this.marks.mark(containerId);
      await this.namespaces.ensure(containerId);
      for (const network of networks) {
        await this.registry.save(network);
        await ensureBridgeIsolation(this.iptables, network);
      }

      const added: string[] = [];
      try {
        for (const attachment of wanted) {
          if (kept.has(attachment.ifName)) continue;
          const result = await this.cni.add(attachment);
          added.push(attachment.ifName);
          await this.nameHostVeth(attachment, result);
        }
        await ensureIsolationFirst(this.iptables);
      } catch (err) {
        for (const ifName of added.reverse()) {
          const record = await this.cni.record(containerId, ifName);
          if (record) await this.cni.del(record).catch(() => undefined);
        }
        if (!hadNetns && (await this.cni.records(containerId)).length === 0) await this.removeNamespace(containerId).catch(() => undefined);
        throw err;
      }
      return this.attachments.describe(containerId);
    });
  }

  /**
   * Removes a container's networking: DEL of every attachment in reverse (which
   * removes its published ports), a sweep of anything the plugins left, the
   * namespace, and the records. Idempotent; works from the records on disk alone.
   * When a DEL fails the rest still goes, and the error is thrown with the record
   * kept, so a retry finishes the job.
   */
  async detach(containerId: string): Promise<void> {
    checkedId(containerId);
    return this.lock.exclusive(async () => {
      const errors = await this.removeContainer(containerId, await this.attachments.addressesOfOthers(containerId));
      if (errors.length) throw errors[0];
    });
  }

  /** Deletes a network's bridge and its isolation rules; refused while a container is still attached to it. */
  async removeNetwork(bridge: string): Promise<void> {
    checkedBridgeName(bridge);
    return this.lock.exclusive(async () => {
      const users = await this.attachments.containersOn(bridge);
      if (users.length) throw new FailedPreconditionError(`bridge ${bridge} is still used by ${users.join(', ')}`, 'NetworkInUse');
      await this.removeBridge(bridge);
      await this.removeSharedChainsIfIdle();
    });
  }

  /**
   * Removes everything of this worker that the keep lists do not name (a kept
   * container keeps its bridges too): the networking of every other container it
   * marked or attached (as detach does) and the bridges of its other networks; then
   * Berth's and the plugins' shared chains if nothing on the host uses them any
   * more. For a worker's start, after a crash or a restart.
   */
  async reconcile(keep: ReconcileKeep): Promise<ReconcileReport> {
    const keepContainers = new Set(keep.containers);
    return this.lock.exclusive(async () => {
      const report: ReconcileReport = { containers: [], bridges: [], iptablesRules: 0, chains: [], errors: [] };
      const attempt = async (what: string, work: () => Promise<void>) => {
        try {
          await work();
        } catch (err) {
          report.errors.push(`${what}: ${(err as Error).message}`);
        }
      };

      const owned = [...new Set([...(await this.cni.containers()), ...(await this.marks.list())])].sort();
      const keptRecords = (await Promise.all(owned.filter((id) => keepContainers.has(id)).map((id) => this.cni.records(id)))).flat();
      const keptAddresses = new Set(keptRecords.flatMap(recordAddresses));
      for (const containerId of owned.filter((id) => !keepContainers.has(id))) {
        const errors = await this.removeContainer(containerId, keptAddresses, (n) => (report.iptablesRules += n));
        for (const err of errors) report.errors.push(`container ${containerId}: ${(err as Error).message}`);
        report.containers.push(containerId);
      }

      const keepBridges = new Set([...keep.bridges, ...keptRecords.map(recordBridge).filter((b): b is string => !!b)]);
      const stale = (await this.registry.list()).filter((n) => !keepBridges.has(n.bridge));
      const bridgeAddresses = await this.links.ipv4Addresses();
      const staleSubnets: Ipv4Subnet[] = stale.flatMap((n) => [parseSubnet(n.subnet), ...(bridgeAddresses.get(n.bridge) ?? []).map(networkOf)]);
      await attempt('iptables', async () => {
        // Firewall rules of the stale networks' addresses that no DEL removed (they carry no owner).
        const plan = await sweepLeftovers(this.iptables, {
          staleContainer: () => false,
          staleAddress: (ip) => !keptAddresses.has(ip) && staleSubnets.some((subnet) => subnetContains(subnet, ip)),
        });
        report.iptablesRules += plan.rules.length;
      });
      for (const network of stale) {
        await attempt(`bridge ${network.bridge}`, () => this.removeBridge(network.bridge));
        report.bridges.push(network.bridge);
      }
      await attempt('shared chains', async () => {
        report.chains.push(...(await this.removeSharedChainsIfIdle()));
      });
      return report;
    });
  }

  /**
   * Whether a host port is free for publishing: no Berth container publishes a
   * colliding port, and a socket can be bound to it on the host right now.
   */
  async isHostPortFree(hostPort: number, protocol: PortProtocol, hostIp?: string): Promise<boolean> {
    const [wanted] = checkedPortMappings([{ hostPort, containerPort: 1, protocol, ...(hostIp ? { hostIp } : {}) }]);
    if ((await this.attachments.publishedPorts()).some(({ port }) => portsCollide(port, wanted))) return false;
    return canBindHostPort(hostPort, protocol, hostIp ?? HOST_PORT_ANY);
  }

  /** The container's networking as recorded, or undefined when it has none. */
  async inspect(containerId: string): Promise<AttachResult | undefined> {
    return (await this.cni.records(containerId)).length ? this.attachments.describe(containerId) : undefined;
  }

  /** CNI CHECK of every attachment of the container (throws what the first failing plugin says). */
  async check(containerId: string): Promise<void> {
    return this.lock.shared(async () => {
      for (const record of await this.cni.records(containerId)) await this.cni.check(containerId, record.ifName);
    });
  }

  /** Refuses to start on a host without the plugins, or with plugins that cannot speak Berth's CNI version. */
  async preflight(): Promise<{ cniVersion: string; iptables: string }> {
    for (const plugin of ['bridge', 'static', 'portmap', 'firewall']) {
      const versions = await this.cni.supportedVersions(plugin);
      if (!versions.includes(CNI_VERSION)) {
        const message = `CNI plugin ${plugin} does not support CNI ${CNI_VERSION} (only ${versions.join(', ')})`;
        throw new FailedPreconditionError(message, 'CniVersionUnsupported');
      }
    }
    return { cniVersion: CNI_VERSION, iptables: (await this.iptables.run(['--version'])).trim() };
  }

  /**
   * DEL of every attachment in reverse, then a sweep of the container's plugin rules
   * (the bridge plugin skips its masquerade teardown when the namespace is already
   * gone), the namespace, its mark and the host veths. Failed DELs are returned, their
   * records kept for a retry.
   */
  private async removeContainer(containerId: string, keepAddresses: ReadonlySet<string>, onSwept?: (rules: number) => void): Promise<unknown[]> {
    const records = await this.cni.records(containerId);
    const errors: unknown[] = [];
    for (const record of [...records].reverse()) await this.cni.del(record).catch((err: unknown) => errors.push(err));
    const mine = new Set(records.flatMap(recordAddresses));
    const filter: LeftoverFilter = {
      staleContainer: (id) => id === containerId,
      staleAddress: (ip) => mine.has(ip) && !keepAddresses.has(ip),
    };
    const plan = await sweepLeftovers(this.iptables, filter);
    onSwept?.(plan.rules.length);
    await this.removeNamespace(containerId);
    for (const record of records) await this.links.delete(hostVethName(containerId, record.ifName));
    return errors;
  }

  private async removeNamespace(containerId: string): Promise<void> {
    await this.namespaces.remove(containerId);
    await this.marks.unmark(containerId);
  }

  private async removeBridge(bridge: string): Promise<void> {
    await this.overlays.remove(bridge);
    await this.links.delete(bridge);
    await removeBridgeIsolation(this.iptables, bridge);
    await this.registry.remove(bridge);
  }

  /**
   * Berth's chains and the plugins' shared ones, once no Berth namespace is left on
   * the host (any worker's: each makes its namespace before it adds rules) and the
   * chains hold nothing but their own plumbing.
   */
  private async removeSharedChainsIfIdle(): Promise<string[]> {
    if ((await this.namespaces.list()).length > 0) return [];
    const removed = (await removeIsolationIfUnused(this.iptables)) ? ['filter/BERTH-FORWARD', 'filter/BERTH-ISOLATION', 'filter/BERTH-INPUT'] : [];
    return [...removed, ...(await pruneSharedChains(this.iptables))];
  }

  /** Attachments that match what is wanted and pass CNI CHECK stay; everything else is redone. */
  private async keepMatching(containerId: string, wanted: readonly CniAttachment[]): Promise<Set<string>> {
    const kept = new Set<string>();
    for (const record of await this.cni.records(containerId)) {
      const match = wanted.find((w) => w.ifName === record.ifName);
      if (!match || !record.result || !sameAttachment(match, record)) continue;
      const healthy = await this.cni.check(containerId, record.ifName).then(
        () => true,
        () => false,
      );
      if (healthy) kept.add(record.ifName);
    }
    return kept;
  }

  /** Gives the host end of the veth its Berth name (the bridge plugin names it veth<random>) and records it. */
  private async nameHostVeth(attachment: CniAttachment, result: CniResult): Promise<void> {
    const bridge = recordBridge(attachment);
    const index = (result.interfaces ?? []).findIndex((i) => !i.sandbox && i.name !== bridge);
    if (index < 0) return;
    const current = result.interfaces![index].name;
    const name = hostVethName(attachment.containerId, attachment.ifName);
    if (current !== name) {
      // A link left with this name (its namespace still held by some process) would block the rename.
      if (await this.links.get(name)) await this.links.delete(name);
      await this.links.rename(current, name);
    }
    const interfaces = result.interfaces!.map((i, n) => (n === index ? { ...i, name } : i));
    await this.cni.updateResult(attachment.containerId, attachment.ifName, { ...result, interfaces });
  }

  private async refuseNetworkConflicts(networks: readonly HostNetworkRecord[]): Promise<void> {
    const known = await this.registry.list();
    for (const network of networks) {
      const conflict = networkConflict(network, known);
      if (!conflict) continue;
      // A stale record of the same bridge with no container on it gives way (the bridge is remade).
      const stale = known.find((k) => k.bridge === network.bridge && !sameNetwork(k, network));
      if (
        stale &&
        (await this.attachments.containersOn(stale.bridge)).length === 0 &&
        !networkConflict(
          network,
          known.filter((k) => k !== stale),
        )
      ) {
        await this.removeBridge(stale.bridge);
        continue;
      }
      throw networkConflictError(network, conflict);
    }
  }
}
