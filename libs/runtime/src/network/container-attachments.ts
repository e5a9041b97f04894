import { recordBridge, sameAttachment, type AttachResult } from './attachment-records';
import type { CniAttachment, CniResult } from './cni';
import { cniPortMappings, endpointConfigList } from './conflist';
import type { PortMapping, ResolvedEndpoint } from './endpoint';
import type { HostNetworkParts } from './host-network-parts';
import { ensureBridgeIsolation, ensureIsolationFirst } from './isolation';
import { hostVethName, netnsPath } from './network-names';
import { networkConflict, networkConflictError, networkRecordOf, sameNetwork, type HostNetworkRecord } from './network-registry';
import type { NetworkTeardown } from './network-teardown';

/** Converges a container's attachments to the endpoints it should have: keeps what matches, redoes the rest. */
export class ContainerAttachments {
  constructor(
    private readonly parts: HostNetworkParts,
    private readonly teardown: NetworkTeardown,
  ) {}

  /**
   * The work of HostNetworks.attach, on checked endpoints and ports and under its
   * lock: the namespace if needed, matching attachments kept, the others removed,
   * the missing ones added. A failure undoes what this call added.
   */
  async converge(containerId: string, resolved: readonly ResolvedEndpoint[], mappings: readonly PortMapping[]): Promise<AttachResult> {
    const { cni, namespaces, marks, registry, iptables, attachments } = this.parts;
    await attachments.refuseTakenPorts(containerId, mappings);
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

    const hadNetns = await namespaces.exists(containerId);
    const kept = hadNetns ? await this.keepMatching(containerId, wanted) : new Set<string>();
    for (const record of (await cni.records(containerId)).reverse()) {
      if (!kept.has(record.ifName)) await cni.del(record);
    }
    await marks.mark(containerId);
    await namespaces.ensure(containerId);
    for (const network of networks) {
      await registry.save(network);
      await ensureBridgeIsolation(iptables, network);
    }

    const added: string[] = [];
    try {
      for (const attachment of wanted) {
        if (kept.has(attachment.ifName)) continue;
        const result = await cni.add(attachment);
        added.push(attachment.ifName);
        await this.nameHostVeth(attachment, result);
      }
      await ensureIsolationFirst(iptables);
    } catch (err) {
      for (const ifName of added.reverse()) {
        const record = await cni.record(containerId, ifName);
        if (record) await cni.del(record).catch(() => undefined);
      }
      if (!hadNetns && (await cni.records(containerId)).length === 0) await this.teardown.removeNamespace(containerId).catch(() => undefined);
      throw err;
    }
    return attachments.describe(containerId);
  }

  /** Attachments that match what is wanted and pass CNI CHECK stay; everything else is redone. */
  private async keepMatching(containerId: string, wanted: readonly CniAttachment[]): Promise<Set<string>> {
    const kept = new Set<string>();
    for (const record of await this.parts.cni.records(containerId)) {
      const match = wanted.find((w) => w.ifName === record.ifName);
      if (!match || !record.result || !sameAttachment(match, record)) continue;
      const healthy = await this.parts.cni.check(containerId, record.ifName).then(
        () => true,
        () => false,
      );
      if (healthy) kept.add(record.ifName);
    }
    return kept;
  }

  /** Gives the host end of the veth its Berth name (the bridge plugin names it veth<random>) and records it. */
  private async nameHostVeth(attachment: CniAttachment, result: CniResult): Promise<void> {
    const { links, cni } = this.parts;
    const bridge = recordBridge(attachment);
    const index = (result.interfaces ?? []).findIndex((i) => !i.sandbox && i.name !== bridge);
    if (index < 0) return;
    const current = result.interfaces![index].name;
    const name = hostVethName(attachment.containerId, attachment.ifName);
    if (current !== name) {
      // A link left with this name (its namespace still held by some process) would block the rename.
      if (await links.get(name)) await links.delete(name);
      await links.rename(current, name);
    }
    const interfaces = result.interfaces!.map((i, n) => (n === index ? { ...i, name } : i));
    await cni.updateResult(attachment.containerId, attachment.ifName, { ...result, interfaces });
  }

  private async refuseNetworkConflicts(networks: readonly HostNetworkRecord[]): Promise<void> {
    const known = await this.parts.registry.list();
    for (const network of networks) {
      const conflict = networkConflict(network, known);
      if (!conflict) continue;
      // A stale record of the same bridge with no container on it gives way (the bridge is remade).
      const stale = known.find((k) => k.bridge === network.bridge && !sameNetwork(k, network));
      if (
        stale &&
        (await this.parts.attachments.containersOn(stale.bridge)).length === 0 &&
        !networkConflict(
          network,
          known.filter((k) => k !== stale),
        )
      ) {
        await this.teardown.removeBridge(stale.bridge);
        continue;
      }
      throw networkConflictError(network, conflict);
    }
  }
}
