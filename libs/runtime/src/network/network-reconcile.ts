import { recordAddresses, recordBridge } from './attachment-records';
import { sweepLeftovers } from './cni-leftovers';
import type { HostNetworkParts } from './host-network-parts';
import { networkOf, parseSubnet, subnetContains, type Ipv4Subnet } from './ipv4';
import type { NetworkTeardown } from './network-teardown';

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

/** Removes what a worker owns on the host and no longer keeps: containers' networking, bridges, idle shared chains. */
export class NetworkReconcile {
  constructor(
    private readonly parts: HostNetworkParts,
    private readonly teardown: NetworkTeardown,
  ) {}

  /** The work of HostNetworks.reconcile, under its lock; failures are reported and the rest goes on. */
  async run(keepContainers: ReadonlySet<string>, keep: ReconcileKeep): Promise<ReconcileReport> {
    const { cni, marks, registry, links, iptables } = this.parts;
    const report: ReconcileReport = { containers: [], bridges: [], iptablesRules: 0, chains: [], errors: [] };
    const attempt = async (what: string, work: () => Promise<void>) => {
      try {
        await work();
      } catch (err) {
        report.errors.push(`${what}: ${(err as Error).message}`);
      }
    };

    const owned = [...new Set([...(await cni.containers()), ...(await marks.list())])].sort();
    const keptRecords = (await Promise.all(owned.filter((id) => keepContainers.has(id)).map((id) => cni.records(id)))).flat();
    const keptAddresses = new Set(keptRecords.flatMap(recordAddresses));
    for (const containerId of owned.filter((id) => !keepContainers.has(id))) {
      const errors = await this.teardown.removeContainer(containerId, keptAddresses, (n) => (report.iptablesRules += n));
      for (const err of errors) report.errors.push(`container ${containerId}: ${(err as Error).message}`);
      report.containers.push(containerId);
    }

    const keepBridges = new Set([...keep.bridges, ...keptRecords.map(recordBridge).filter((b): b is string => !!b)]);
    const stale = (await registry.list()).filter((n) => !keepBridges.has(n.bridge));
    const bridgeAddresses = await links.ipv4Addresses();
    const staleSubnets: Ipv4Subnet[] = stale.flatMap((n) => [parseSubnet(n.subnet), ...(bridgeAddresses.get(n.bridge) ?? []).map(networkOf)]);
    await attempt('iptables', async () => {
      // Firewall rules of the stale networks' addresses that no DEL removed (they carry no owner).
      const plan = await sweepLeftovers(iptables, {
        staleContainer: () => false,
        staleAddress: (ip) => !keptAddresses.has(ip) && staleSubnets.some((subnet) => subnetContains(subnet, ip)),
      });
      report.iptablesRules += plan.rules.length;
    });
    for (const network of stale) {
      await attempt(`bridge ${network.bridge}`, () => this.teardown.removeBridge(network.bridge));
      report.bridges.push(network.bridge);
    }
    await attempt('shared chains', async () => {
      report.chains.push(...(await this.teardown.removeSharedChainsIfIdle()));
    });
    return report;
  }
}
