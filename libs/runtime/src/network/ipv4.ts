import {
  InvalidArgumentError,
  formatIpv4,
  parseIpv4,
  parseSubnet as parseSubnet4,
  subnetContains as contains4,
  subnetsOverlap as overlap4,
  type Subnet4,
} from '@berth/domain';

/**
 * IPv4 as the host side of networks spells it (dotted strings), over the domain's
 * address arithmetic, so that the API's allocations and the worker's checks agree.
 * IPv6 is not supported yet.
 */

export interface Ipv4Subnet {
  /** The network address, e.g. 10.213.1.0 */
  network: string;
  prefixLength: number;
}

export function isIpv4(value: string): boolean {
  try {
    parseIpv4(value);
    return true;
  } catch {
    return false;
  }
}

export const ipv4ToNumber = (value: string): number => parseIpv4(value, 'address');
export const numberToIpv4 = formatIpv4;

/** `10.213.1.0/24` → its network address and prefix; the address must be the network's first. */
export function parseSubnet(cidr: string): Ipv4Subnet {
  const s = parseSubnet4(cidr);
  return { network: formatIpv4(s.base), prefixLength: s.prefix };
}

/** The subnet an interface address (`10.213.1.1/24`) lies in. */
export function networkOf(interfaceAddress: string): Ipv4Subnet {
  const [address, prefix] = interfaceAddress.split('/');
  const prefixLength = Number(prefix);
  if (!isIpv4(address) || !/^\d{1,2}$/.test(prefix ?? '') || prefixLength > 32) {
    throw new InvalidArgumentError(`invalid interface address ${JSON.stringify(interfaceAddress)}`);
  }
  const size = 2 ** (32 - prefixLength);
  return { network: formatIpv4(Math.floor(parseIpv4(address) / size) * size), prefixLength };
}

/** Whether `ip` is a usable host address of the subnet (not its network or broadcast address). */
export function isHostAddressOf(ip: string, subnet: Ipv4Subnet): boolean {
  if (!isIpv4(ip)) return false;
  const s = toSubnet4(subnet);
  const n = parseIpv4(ip);
  return contains4(s, n) && n !== s.base && n !== s.base + s.size - 1;
}

/** Whether `ip` lies in the subnet (network and broadcast addresses included). */
export function subnetContains(subnet: Ipv4Subnet, ip: string): boolean {
  return isIpv4(ip) && contains4(toSubnet4(subnet), parseIpv4(ip));
}

export function subnetsOverlap(a: Ipv4Subnet, b: Ipv4Subnet): boolean {
  return overlap4(toSubnet4(a), toSubnet4(b));
}

export function formatSubnet(subnet: Ipv4Subnet): string {
  return `${subnet.network}/${subnet.prefixLength}`;
}

function toSubnet4(subnet: Ipv4Subnet): Subnet4 {
  return { base: parseIpv4(subnet.network), prefix: subnet.prefixLength, size: 2 ** (32 - subnet.prefixLength) };
}
