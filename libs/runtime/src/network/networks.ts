import { FailedPreconditionError, InvalidArgumentError } from '@berth/domain';
import { checkedId } from '../shared/container-id';
import { SharedExclusiveLock } from '../shared/shared-exclusive-lock';
import { HOST_PORT_ANY, type AttachResult } from './attachment-records';
import { CNI_VERSION } from './conflist';
import { ContainerAttachments } from './container-attachments';
import { checkedPortMappings, portsCollide, resolveEndpoints, type Endpoint, type PortMapping, type PortProtocol } from './endpoint';
import { hostNetworkParts, type HostNetworkParts, type HostNetworksOptions } from './host-network-parts';
import { canBindHostPort } from './host-ports';
import { checkedBridgeName } from './network-names';
import { NetworkReconcile, type ReconcileKeep, type ReconcileReport } from './network-reconcile';
import { NetworkTeardown } from './network-teardown';
import { VXLAN_OVERHEAD, type OverlaySpec } from './overlay';

export type { AttachedInterface, AttachResult } from './attachment-records';
export type { HostNetworksOptions } from './host-network-parts';
export type { ReconcileKeep, ReconcileReport } from './network-reconcile';

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
  private readonly parts: HostNetworkParts;
  private readonly teardown: NetworkTeardown;
  private readonly containerAttachments: ContainerAttachments;
  private readonly reconciler: NetworkReconcile;
  private readonly lock = new SharedExclusiveLock();

  constructor(options: HostNetworksOptions) {
    this.parts = hostNetworkParts(options);
    this.teardown = new NetworkTeardown(this.parts);
    this.containerAttachments = new ContainerAttachments(this.parts, this.teardown);
    this.reconciler = new NetworkReconcile(this.parts, this.teardown);
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
        await this.parts.overlays.remove(bridge);
        return false;
      }
      if (!(await this.parts.registry.get(bridge)) || !(await this.parts.links.get(bridge))) return false;
      await this.parts.overlays.ensure(bridge, spec);
      return true;
    });
  }

  /** The IPv4 address of the link the default route leaves by, if there is one. */
  async defaultRouteAddress(): Promise<string | undefined> {
    return this.parts.links.defaultRouteAddress();
  }

  /** The MTU containers get when their networks may span hosts: the underlay link's, less VXLAN's overhead. */
  async overlayMtu(localAddress: string): Promise<number | undefined> {
    const mtu = (await this.parts.links.holding(localAddress))?.mtu;
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
    return this.lock.exclusive(() => this.containerAttachments.converge(containerId, resolved, mappings));
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
      const errors = await this.teardown.removeContainer(containerId, await this.parts.attachments.addressesOfOthers(containerId));
      if (errors.length) throw errors[0];
    });
  }

  /** Deletes a network's bridge and its isolation rules; refused while a container is still attached to it. */
  async removeNetwork(bridge: string): Promise<void> {
    checkedBridgeName(bridge);
    return this.lock.exclusive(async () => {
      const users = await this.parts.attachments.containersOn(bridge);
      if (users.length) throw new FailedPreconditionError(`bridge ${bridge} is still used by ${users.join(', ')}`, 'NetworkInUse');
      await this.teardown.removeBridge(bridge);
      await this.teardown.removeSharedChainsIfIdle();
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
    return this.lock.exclusive(() => this.reconciler.run(keepContainers, keep));
  }

  /**
   * Whether a host port is free for publishing: no Berth container publishes a
   * colliding port, and a socket can be bound to it on the host right now.
   */
  async isHostPortFree(hostPort: number, protocol: PortProtocol, hostIp?: string): Promise<boolean> {
    const [wanted] = checkedPortMappings([{ hostPort, containerPort: 1, protocol, ...(hostIp ? { hostIp } : {}) }]);
    if ((await this.parts.attachments.publishedPorts()).some(({ port }) => portsCollide(port, wanted))) return false;
    return canBindHostPort(hostPort, protocol, hostIp ?? HOST_PORT_ANY);
  }

  /** The container's networking as recorded, or undefined when it has none. */
  async inspect(containerId: string): Promise<AttachResult | undefined> {
    return (await this.parts.cni.records(containerId)).length ? this.parts.attachments.describe(containerId) : undefined;
  }

  /** CNI CHECK of every attachment of the container (throws what the first failing plugin says). */
  async check(containerId: string): Promise<void> {
    return this.lock.shared(async () => {
      for (const record of await this.parts.cni.records(containerId)) await this.parts.cni.check(containerId, record.ifName);
    });
  }

  /** Refuses to start on a host without the plugins, or with plugins that cannot speak Berth's CNI version. */
  async preflight(): Promise<{ cniVersion: string; iptables: string }> {
    for (const plugin of ['bridge', 'static', 'portmap', 'firewall']) {
      const versions = await this.parts.cni.supportedVersions(plugin);
      if (!versions.includes(CNI_VERSION)) {
        const message = `CNI plugin ${plugin} does not support CNI ${CNI_VERSION} (only ${versions.join(', ')})`;
        throw new FailedPreconditionError(message, 'CniVersionUnsupported');
      }
    }
    return { cniVersion: CNI_VERSION, iptables: (await this.parts.iptables.run(['--version'])).trim() };
  }
}
