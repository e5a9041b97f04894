import { InvalidArgumentError } from '@berth/domain';
import { isHostAddressOf, isIpv4, parseSubnet, subnetsOverlap } from './ipv4';
import { checkedBridgeName, checkedIfName, cniNetworkName } from './network-names';

/** One network a container joins, with the address the control plane allocated to it. */
export interface Endpoint {
  networkId: string;
  /** The network's name (for messages and the hosts file). */
  name: string;
  /** The host bridge: `berth-` and at most 9 more characters. */
  bridge: string;
  /** IPv4 CIDR, e.g. 10.213.1.0/24 */
  subnet: string;
  /** The bridge's address; the container's default route unless the network is internal. */
  gateway: string;
  ipAddress: string;
  /** No route out: no default route, no masquerading, nothing forwarded off the bridge or started towards the host. */
  internal: boolean;
  /** eth0, eth1, … in the order given when unset. */
  ifName?: string;
  /** The MTU of the container's interface, its veth and the bridge (the kernel's 1500 when unset). */
  mtu?: number;
}

export type PortProtocol = 'tcp' | 'udp';

/** A published port, through the container's first endpoint. */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: PortProtocol;
  /** One host address (IPv4), or every address when unset or 0.0.0.0. */
  hostIp?: string;
}

/** An endpoint with its interface name fixed and every field checked. */
export type ResolvedEndpoint = Endpoint & { ifName: string };

/** Checks a container's endpoints and names their interfaces (eth0, eth1, … unless given). */
export function resolveEndpoints(endpoints: readonly Endpoint[]): ResolvedEndpoint[] {
  const resolved = endpoints.map((endpoint, index) => checkedEndpoint({ ...endpoint, ifName: endpoint.ifName ?? `eth${index}` }));
  const seen = new Map<string, string>();
  for (const endpoint of resolved) {
    for (const [key, what] of [
      [`if:${endpoint.ifName}`, `interface ${endpoint.ifName}`],
      [`net:${endpoint.networkId}`, `network ${endpoint.networkId}`],
      [`br:${endpoint.bridge}`, `bridge ${endpoint.bridge}`],
    ] as const) {
      if (seen.has(key)) throw new InvalidArgumentError(`a container joins each network once: ${what} appears twice`);
      seen.set(key, what);
    }
  }
  for (const [i, a] of resolved.entries()) {
    const clash = resolved.slice(i + 1).find((b) => subnetsOverlap(parseSubnet(a.subnet), parseSubnet(b.subnet)));
    if (clash) throw new InvalidArgumentError(`networks ${a.name} and ${clash.name} have overlapping subnets`);
  }
  return resolved;
}

function checkedEndpoint(endpoint: ResolvedEndpoint): ResolvedEndpoint {
  cniNetworkName(endpoint.networkId);
  checkedBridgeName(endpoint.bridge);
  checkedIfName(endpoint.ifName);
  const subnet = parseSubnet(endpoint.subnet);
  if (!isHostAddressOf(endpoint.ipAddress, subnet)) {
    throw new InvalidArgumentError(`network ${endpoint.name}: ${endpoint.ipAddress} is not a host address of ${endpoint.subnet}`, [
      { field: 'ipAddress', message: `a host address of ${endpoint.subnet}` },
    ]);
  }
  if (!isHostAddressOf(endpoint.gateway, subnet) || endpoint.gateway === endpoint.ipAddress) {
    throw new InvalidArgumentError(`network ${endpoint.name}: gateway ${endpoint.gateway} is not another host address of ${endpoint.subnet}`, [
      { field: 'gateway', message: `a host address of ${endpoint.subnet}, not the container's` },
    ]);
  }
  if (endpoint.mtu !== undefined && (!Number.isInteger(endpoint.mtu) || endpoint.mtu < 576 || endpoint.mtu > 65535)) {
    throw new InvalidArgumentError(`network ${endpoint.name}: MTU ${endpoint.mtu} is not between 576 and 65535`, [
      { field: 'mtu', message: 'an integer from 576 to 65535' },
    ]);
  }
  return endpoint;
}

export function checkedPortMappings(ports: readonly PortMapping[]): PortMapping[] {
  const checked: PortMapping[] = [];
  for (const port of ports) {
    for (const field of ['hostPort', 'containerPort'] as const) {
      if (!Number.isInteger(port[field]) || port[field] < 1 || port[field] > 65535) {
        throw new InvalidArgumentError(`invalid ${field} ${port[field]}`, [{ field, message: 'an integer from 1 to 65535' }]);
      }
    }
    if (port.protocol !== 'tcp' && port.protocol !== 'udp') {
      throw new InvalidArgumentError(`invalid protocol ${JSON.stringify(port.protocol)}`, [{ field: 'protocol', message: 'tcp or udp' }]);
    }
    if (port.hostIp !== undefined && !isIpv4(port.hostIp)) {
      throw new InvalidArgumentError(`invalid hostIp ${JSON.stringify(port.hostIp)}`, [{ field: 'hostIp', message: 'an IPv4 address' }]);
    }
    if (checked.some((other) => portsCollide(other, port))) {
      throw new InvalidArgumentError(`host port ${port.hostPort}/${port.protocol} is published twice`);
    }
    checked.push({ ...port });
  }
  return checked;
}

/** Whether two publications would claim the same host socket. */
export function portsCollide(a: PortMapping, b: PortMapping): boolean {
  if (a.protocol !== b.protocol || a.hostPort !== b.hostPort) return false;
  const anyA = !a.hostIp || a.hostIp === '0.0.0.0';
  const anyB = !b.hostIp || b.hostIp === '0.0.0.0';
  return anyA || anyB || a.hostIp === b.hostIp;
}
