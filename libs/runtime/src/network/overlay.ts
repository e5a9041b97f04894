import { InternalError, InvalidArgumentError } from '@berth/domain';
import { execFileRunner, type ProcessRunner } from '../shared/process-runner';
import { HostLinks } from './host-links';
import { Iptables } from './iptables';
import { isIpv4 } from './ipv4';
import { INPUT_CHAIN, VXLAN_PORT } from './isolation';
import { BRIDGE_PREFIX, checkedBridgeName } from './network-names';

/** What VXLAN adds to every frame over IPv4: outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;
const MAX_VNI = 0xffffff;
const FLOOD_MAC = '00:00:00:00:00:00';
const LINK_PREFIX = 'bvx-';
/** Where VXLAN from anything but this host's peers is dropped (jumped to from BERTH-INPUT). */
export const VXLAN_CHAIN = 'BERTH-VXLAN';

/** How one network's bridge reaches the same network's bridges on other hosts. */
export interface OverlaySpec {
  /** The VXLAN network identifier, the same on every host of the network (1 to 16777215). */
  vni: number;
  /** This host's underlay address, the source of its VXLAN packets. */
  localAddress: string;
  /** The underlay addresses of the other hosts that have members on the network. */
  peers: readonly string[];
  /** UDP port, the same on every host (default 4789). */
  port?: number;
}

/** The VXLAN link a network's bridge `berth-x` gets: `bvx-x` (13 characters at most). */
export function overlayLinkName(bridge: string): string {
  return `${LINK_PREFIX}${checkedBridgeName(bridge).slice(BRIDGE_PREFIX.length)}`;
}

export function checkedOverlaySpec(spec: OverlaySpec): OverlaySpec {
  if (!Number.isInteger(spec.vni) || spec.vni < 1 || spec.vni > MAX_VNI) {
    throw new InvalidArgumentError(`VNI ${spec.vni} is not between 1 and ${MAX_VNI}`, [{ field: 'vni', message: 'an integer from 1 to 16777215' }]);
  }
  for (const address of [spec.localAddress, ...spec.peers]) {
    if (!isIpv4(address)) throw new InvalidArgumentError(`${JSON.stringify(address)} is not an IPv4 address`, [{ field: 'peers', message: 'IPv4 addresses' }]);
  }
  return spec;
}

interface VxlanLink {
  ifname: string;
  master?: string;
  operstate?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number }; info_slave_data?: { neigh_suppress?: boolean } };
}

/**
 * One VXLAN link per network bridge that has members on other hosts, enslaved to
 * the bridge, so the network is one Ethernet segment across hosts (addresses are
 * the control plane's, so they never clash). Broadcasts (ARP) go to every peer
 * through all-zero FDB entries (head-end replication); unicast MACs are learned.
 *
 * Every host's bridge holds the network's gateway address. The link has
 * `neigh_suppress` on, so an ARP request for the gateway (a local address of the
 * bridge) is answered by the local bridge and never crosses to a peer, whose bridge
 * would answer too: each container routes through its own host.
 *
 * VXLAN carries no authentication, and VNIs are easy to guess: while the host has
 * links, BERTH-VXLAN (jumped to from BERTH-INPUT for UDP 4789) lets in only what
 * comes from the peers of one of them, and drops the rest.
 */
export class Overlays {
  private readonly runner: ProcessRunner;
  private readonly ipPath: string;
  private readonly bridgePath: string;
  private readonly timeoutMs: number;
  private readonly iptables: Iptables;
  private readonly links: HostLinks;

  constructor(options: { runner?: ProcessRunner; ipPath?: string; bridgePath?: string; timeoutMs?: number; links?: HostLinks } = {}) {
    this.runner = options.runner ?? execFileRunner;
    this.iptables = new Iptables({ runner: this.runner });
    this.links = options.links ?? new HostLinks({ runner: this.runner, ipPath: options.ipPath });
    this.ipPath = options.ipPath ?? '/usr/sbin/ip';
    this.bridgePath = options.bridgePath ?? '/usr/sbin/bridge';
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * Makes the bridge's VXLAN link match the spec: made (or remade when its VNI,
   * local address or port changed), enslaved and up, with exactly one flood entry
   * per peer. Without peers the link goes. Idempotent.
   */
  async ensure(bridge: string, spec: OverlaySpec): Promise<void> {
    checkedOverlaySpec(spec);
    const name = overlayLinkName(bridge);
    if (!spec.peers.length) return this.remove(bridge);
    const port = spec.port ?? VXLAN_PORT;
    let link = await this.link(name);
    const data = link?.linkinfo?.info_data;
    if (link && (link.linkinfo?.info_kind !== 'vxlan' || data?.id !== spec.vni || data?.local !== spec.localAddress || (data?.port ?? port) !== port)) {
      await this.remove(bridge);
      link = undefined;
    }
    if (!link) {
      const device = (await this.links.holding(spec.localAddress))?.name;
      // With `dev` the kernel gives the link the underlay's MTU less the VXLAN overhead.
      await this.ip([
        'link',
        'add',
        name,
        'type',
        'vxlan',
        'id',
        String(spec.vni),
        'local',
        spec.localAddress,
        'dstport',
        String(port),
        ...(device ? ['dev', device] : []),
      ]);
    }
    if (link?.master !== bridge) await this.ip(['link', 'set', 'dev', name, 'master', bridge]);
    if (link?.linkinfo?.info_slave_data?.neigh_suppress !== true) await this.run(this.bridgePath, ['link', 'set', 'dev', name, 'neigh_suppress', 'on']);
    if (link?.operstate !== 'UP' && link?.operstate !== 'UNKNOWN') await this.ip(['link', 'set', 'dev', name, 'up']);

    const have = new Set(await this.floodPeers(name));
    const want = new Set(spec.peers);
    for (const peer of want) if (!have.has(peer)) await this.run(this.bridgePath, ['fdb', 'append', FLOOD_MAC, 'dev', name, 'dst', peer]);
    for (const peer of have) if (!want.has(peer)) await this.run(this.bridgePath, ['fdb', 'del', FLOOD_MAC, 'dev', name, 'dst', peer]);
    await this.admitPeers();
  }

  /** Removes the bridge's VXLAN link; one already gone is fine. */
  async remove(bridge: string): Promise<void> {
    if (await this.links.delete(overlayLinkName(bridge))) await this.admitPeers();
  }

  /**
   * BERTH-VXLAN lets in VXLAN from the peers of every link on the host and drops
   * the rest; with no link left, the chain and its jump go (VXLAN is no business of
   * Berth's then). Rewritten whole, atomically, each time a link's peers change.
   */
  async admitPeers(): Promise<string[]> {
    const fdb = JSON.parse((await this.run(this.bridgePath, ['-j', 'fdb', 'show'])) || '[]') as { ifname?: string; mac?: string; dst?: string }[];
    const links = JSON.parse((await this.ip(['-j', 'link', 'show', 'type', 'vxlan'])) || '[]') as { ifname: string }[];
    const ours = new Set(links.map((l) => l.ifname).filter((n) => n.startsWith(LINK_PREFIX)));
    const peers = [...new Set(fdb.filter((e) => e.ifname && ours.has(e.ifname) && e.mac === FLOOD_MAC && e.dst).map((e) => e.dst!))].sort();
    const jump = ['-p', 'udp', '-m', 'udp', '--dport', String(VXLAN_PORT), '-j', VXLAN_CHAIN];
    if (!ours.size) {
      await this.iptables.removeChain('filter', VXLAN_CHAIN);
      return [];
    }
    const lines = [
      '*filter',
      `:${VXLAN_CHAIN} - [0:0]`,
      ...peers.map((p) => `-A ${VXLAN_CHAIN} -s ${p}/32 -j RETURN`),
      `-A ${VXLAN_CHAIN} -j DROP`,
      'COMMIT',
      '',
    ];
    await this.iptables.restore(lines.join('\n'));
    if (!(await this.iptables.succeeds(['-t', 'filter', '-C', INPUT_CHAIN, ...jump]))) await this.iptables.run(['-t', 'filter', '-A', INPUT_CHAIN, ...jump]);
    return peers;
  }

  /** The peers the link floods to (its all-zero FDB entries), or none when it does not exist. */
  async floodPeers(name: string): Promise<string[]> {
    const result = await this.runner.run(this.bridgePath, ['-j', 'fdb', 'show', 'dev', name], { timeoutMs: this.timeoutMs });
    if (result.exitCode !== 0) return [];
    const entries = JSON.parse(result.stdout || '[]') as { mac?: string; dst?: string }[];
    return entries.filter((e) => e.mac === FLOOD_MAC && e.dst).map((e) => e.dst!);
  }

  private async link(name: string): Promise<VxlanLink | undefined> {
    const result = await this.runner.run(this.ipPath, ['-j', '-d', 'link', 'show', 'dev', name], { timeoutMs: this.timeoutMs });
    if (result.exitCode !== 0) return undefined;
    return (JSON.parse(result.stdout || '[]') as VxlanLink[])[0];
  }

  private ip(args: string[]): Promise<string> {
    return this.run(this.ipPath, args);
  }

  private async run(file: string, args: string[]): Promise<string> {
    const result = await this.runner.run(file, args, { timeoutMs: this.timeoutMs });
    if (result.exitCode !== 0) throw new InternalError(`${file} ${args.join(' ')} failed (exit ${result.exitCode}): ${result.stderr.trim()}`, 'OverlayFailed');
    return result.stdout;
  }
}
