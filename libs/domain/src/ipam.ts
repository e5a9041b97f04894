import { AlreadyExistsError, InvalidArgumentError, UnavailableError } from './errors';

/** An IPv4 subnet in CIDR form, as numbers. */
export interface Subnet4 {
  /** The network address. */
  base: number;
  prefix: number;
  size: number;
}

export function parseIpv4(text: string, field = 'ipAddress'): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) {
    throw new InvalidArgumentError(`"${text}" is not an IPv4 address`, [{ field, message: 'must be an IPv4 address like 10.0.0.2' }], 'InvalidAddress');
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function parseSubnet(text: string, field = 'subnet'): Subnet4 {
  const [address, bits, ...rest] = text.split('/');
  const prefix = Number(bits);
  if (rest.length || !/^\d{1,2}$/.test(bits ?? '') || prefix < 8 || prefix > 30) {
    throw new InvalidArgumentError(`"${text}" is not an IPv4 subnet from /8 to /30`, [{ field, message: 'must be CIDR like 10.10.0.0/24' }], 'InvalidSubnet');
  }
  const size = 2 ** (32 - prefix);
  const ip = parseIpv4(address, field);
  if (ip % size !== 0) {
    throw new InvalidArgumentError(
      `"${text}" has host bits set (the network is ${formatIpv4(ip - (ip % size))}/${prefix})`,
      [{ field, message: 'host bits set' }],
      'InvalidSubnet',
    );
  }
  return { base: ip, prefix, size };
}

export function formatSubnet(s: Subnet4): string {
  return `${formatIpv4(s.base)}/${s.prefix}`;
}

export function subnetContains(s: Subnet4, ip: number): boolean {
  return ip >= s.base && ip < s.base + s.size;
}

export function subnetsOverlap(a: Subnet4, b: Subnet4): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

/** Addresses a container may get: not the network or broadcast address, not the gateway, inside `range`. */
export function isAssignable(subnet: Subnet4, gateway: number, ip: number, range: Subnet4 = subnet): boolean {
  return subnetContains(subnet, ip) && subnetContains(range, ip) && ip !== subnet.base && ip !== subnet.base + subnet.size - 1 && ip !== gateway;
}

/** The lowest assignable address not in `taken`, or undefined when the range is full. */
export function nextFreeAddress(subnet: Subnet4, gateway: number, taken: Set<number>, range: Subnet4 = subnet): number | undefined {
  for (let ip = Math.max(range.base, subnet.base + 1); ip < Math.min(range.base + range.size, subnet.base + subnet.size - 1); ip++) {
    if (ip !== gateway && !taken.has(ip)) return ip;
  }
  return undefined;
}

/** The first /`prefix` subnet of `pool` that overlaps none of `used`. */
export function nextFreeSubnet(pool: Subnet4, prefix: number, used: Subnet4[]): Subnet4 | undefined {
  const size = 2 ** (32 - prefix);
  for (let base = pool.base; base + size <= pool.base + pool.size; base += size) {
    const candidate = { base, prefix, size };
    if (!used.some((u) => subnetsOverlap(u, candidate))) return candidate;
  }
  return undefined;
}

/** The prefix of the subnets a network gets from the pool when it names none. */
export const AUTO_SUBNET_PREFIX = 24;

/** How a new network is addressed: its subnet, gateway and the range its containers' addresses come from. */
export interface NetworkAddressing {
  subnet: string;
  gateway: string;
  ipRange: string | null;
}

/**
 * The addressing of a new network: the subnet asked for (refused when it overlaps
 * one in `used`, every team's: bridges share the hosts' routing) or the first free
 * /24 of `pool`; the gateway asked for or the first host address; a range inside
 * the subnet. Throws the domain error naming the field.
 */
export function planNetworkAddressing(request: { subnet?: string; gateway?: string; ipRange?: string }, pool: string, used: string[]): NetworkAddressing {
  const taken = used.map((u) => parseSubnet(u));
  let subnet: Subnet4 | undefined;
  if (request.subnet) {
    const asked = parseSubnet(request.subnet, 'subnet');
    if (taken.some((u) => subnetsOverlap(u, asked))) throw new AlreadyExistsError(`subnet ${request.subnet} overlaps a network that exists`, 'SubnetInUse');
    subnet = asked;
  } else {
    subnet = nextFreeSubnet(parseSubnet(pool, 'BERTH_NETWORK_POOL'), AUTO_SUBNET_PREFIX, taken);
    if (!subnet) throw new UnavailableError(`the address pool ${pool} has no free /${AUTO_SUBNET_PREFIX} left`, 'AddressPoolExhausted');
  }
  const gateway = request.gateway ? parseIpv4(request.gateway, 'gateway') : subnet.base + 1;
  if (!subnetContains(subnet, gateway) || gateway === subnet.base || gateway === subnet.base + subnet.size - 1) {
    throw new InvalidArgumentError(
      `gateway ${formatIpv4(gateway)} is not a host address of ${formatSubnet(subnet)}`,
      [{ field: 'gateway', message: 'must be a host address in the subnet' }],
      'InvalidGateway',
    );
  }
  if (request.ipRange) {
    const range = parseSubnet(request.ipRange, 'ipRange');
    if (range.base < subnet.base || range.base + range.size > subnet.base + subnet.size) {
      throw new InvalidArgumentError(
        `ipRange ${request.ipRange} is not inside ${formatSubnet(subnet)}`,
        [{ field: 'ipRange', message: 'must lie inside the subnet' }],
        'InvalidIpRange',
      );
    }
  }
  return { subnet: formatSubnet(subnet), gateway: formatIpv4(gateway), ipRange: request.ipRange ?? null };
}

/**
 * The address a container gets on a network: the one it asked for (`fixed`, 400
 * when the network cannot give it, 409 when taken) or the lowest free one of the
 * range (503 when the network is full). `field` names the request's field in errors.
 */
export function assignAddress(network: NetworkAddressing & { name: string }, taken: Iterable<string>, fixed: string | undefined, field: string): string {
  const subnet = parseSubnet(network.subnet);
  const gateway = parseIpv4(network.gateway);
  const range = network.ipRange ? parseSubnet(network.ipRange) : subnet;
  const used = new Set([...taken].map((ip) => parseIpv4(ip)));
  if (fixed) {
    const ip = parseIpv4(fixed, field);
    if (!isAssignable(subnet, gateway, ip))
      throw new InvalidArgumentError(
        `${fixed} is not an address containers can have on ${network.name} (${network.subnet})`,
        [{ field, message: 'not assignable on the network' }],
        'InvalidAddress',
      );
    if (used.has(ip)) throw new AlreadyExistsError(`address ${fixed} on network ${network.name} is taken`, 'AddressInUse');
    return fixed;
  }
  const ip = nextFreeAddress(subnet, gateway, used, range);
  if (ip === undefined) throw new UnavailableError(`network ${network.name} has no free address left`, 'NetworkFull');
  return formatIpv4(ip);
}

/** What a create asks of one network: its name or id, and optionally a fixed address and aliases. */
export interface NetworkRequest {
  network: string;
  ipAddress?: string;
  aliases: string[];
}

const ALIAS = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/**
 * Reads `networks` as Docker-like clients send it: a network name, or
 * `{name, aliases, ipAddress}`. Answers 400 naming the entry's field otherwise.
 */
export function parseNetworkRequests(input: unknown): NetworkRequest[] {
  if (input === undefined) return [];
  const fail = (field: string, message: string) => new InvalidArgumentError(`${field} ${message}`, [{ field, message }], 'InvalidNetworks');
  if (!Array.isArray(input)) throw fail('networks', 'must be a list of network names or {name, aliases, ipAddress}');
  if (input.length > 16) throw fail('networks', 'may name at most 16 networks');
  return input.map((entry, i) => {
    const at = `networks[${i}]`;
    if (typeof entry === 'string') {
      if (!entry) throw fail(at, 'must not be empty');
      return { network: entry, aliases: [] };
    }
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw fail(at, 'must be a network name or {name, aliases, ipAddress}');
    const { name, aliases, ipAddress, ...rest } = entry as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra) throw fail(`${at}.${extra}`, 'is not a known field');
    if (typeof name !== 'string' || !name) throw fail(`${at}.name`, 'must be a network name or id');
    if (ipAddress !== undefined && typeof ipAddress !== 'string') throw fail(`${at}.ipAddress`, 'must be an IPv4 address');
    if (typeof ipAddress === 'string') parseIpv4(ipAddress, `${at}.ipAddress`);
    if (aliases !== undefined && (!Array.isArray(aliases) || aliases.length > 32 || aliases.some((a) => typeof a !== 'string' || !ALIAS.test(a)))) {
      throw fail(`${at}.aliases`, 'must be host names (letters, digits, - and .)');
    }
    return { network: name, ipAddress: ipAddress as string | undefined, aliases: (aliases as string[] | undefined) ?? [] };
  });
}
