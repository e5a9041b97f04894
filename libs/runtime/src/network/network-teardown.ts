import { recordAddresses } from './attachment-records';
import { pruneSharedChains, sweepLeftovers, type LeftoverFilter } from './cni-leftovers';
import type { HostNetworkParts } from './host-network-parts';
import { removeBridgeIsolation, removeIsolationIfUnused } from './isolation';
import { hostVethName } from './network-names';

/** Removes what HostNetworks made: a container's networking, a bridge, the shared chains once idle. */
export class NetworkTeardown {
  constructor(private readonly parts: HostNetworkParts) {}

  /**
   * DEL of every attachment in reverse, then a sweep of the container's plugin rules
   * (the bridge plugin skips its masquerade teardown when the namespace is already
   * gone), the namespace, its mark and the host veths. Failed DELs are returned, their
   * records kept for a retry.
   */
  async removeContainer(containerId: string, keepAddresses: ReadonlySet<string>, onSwept?: (rules: number) => void): Promise<unknown[]> {
    const { cni, iptables, links } = this.parts;
    const records = await cni.records(containerId);
    const errors: unknown[] = [];
    for (const record of [...records].reverse()) await cni.del(record).catch((err: unknown) => errors.push(err));
    const mine = new Set(records.flatMap(recordAddresses));
    const filter: LeftoverFilter = {
      staleContainer: (id) => id === containerId,
      staleAddress: (ip) => mine.has(ip) && !keepAddresses.has(ip),
    };
    const plan = await sweepLeftovers(iptables, filter);
    onSwept?.(plan.rules.length);
    await this.removeNamespace(containerId);
    for (const record of records) await links.delete(hostVethName(containerId, record.ifName));
    return errors;
  }

  async removeNamespace(containerId: string): Promise<void> {
    await this.parts.namespaces.remove(containerId);
    await this.parts.marks.unmark(containerId);
  }

  async removeBridge(bridge: string): Promise<void> {
    await this.parts.overlays.remove(bridge);
    await this.parts.links.delete(bridge);
    await removeBridgeIsolation(this.parts.iptables, bridge);
    await this.parts.registry.remove(bridge);
  }

  /**
   * Berth's chains and the plugins' shared ones, once no Berth namespace is left on
   * the host (any worker's: each makes its namespace before it adds rules) and the
   * chains hold nothing but their own plumbing.
   */
  async removeSharedChainsIfIdle(): Promise<string[]> {
    if ((await this.parts.namespaces.list()).length > 0) return [];
    const removed = (await removeIsolationIfUnused(this.parts.iptables)) ? ['filter/BERTH-FORWARD', 'filter/BERTH-ISOLATION', 'filter/BERTH-INPUT'] : [];
    return [...removed, ...(await pruneSharedChains(this.parts.iptables))];
  }
}
