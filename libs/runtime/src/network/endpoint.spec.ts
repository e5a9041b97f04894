import { InvalidArgumentError } from '@berth/domain';
import { checkedPortMappings, portsCollide, resolveEndpoints, type Endpoint } from './endpoint';
import { hostVethName, isBridgeName, netnsName, netnsPath } from './network-names';

const net = (overrides: Partial<Endpoint> = {}): Endpoint => ({
  networkId: 'net_a',
  name: 'a',
  bridge: 'berth-a',
  subnet: '10.213.1.0/24',
  gateway: '10.213.1.1',
  ipAddress: '10.213.1.2',
  internal: false,
  ...overrides,
});
const other = net({ networkId: 'net_b', name: 'b', bridge: 'berth-b', subnet: '10.213.2.0/24', gateway: '10.213.2.1', ipAddress: '10.213.2.2' });

describe('resolveEndpoints', () => {
  it('names interfaces eth0, eth1, … unless given', () => {
    expect(resolveEndpoints([net(), other]).map((e) => e.ifName)).toEqual(['eth0', 'eth1']);
    expect(resolveEndpoints([net({ ifName: 'eth3' })]).map((e) => e.ifName)).toEqual(['eth3']);
  });

  it.each([
    ['a bridge name too long for Linux', net({ bridge: 'berth-abcdefghij' })],
    ['a bridge without the berth- prefix', net({ bridge: 'docker0' })],
    ['an address outside the subnet', net({ ipAddress: '10.213.3.2' })],
    ['the network address', net({ ipAddress: '10.213.1.0' })],
    ['the broadcast address', net({ ipAddress: '10.213.1.255' })],
    ['the gateway as the container address', net({ ipAddress: '10.213.1.1' })],
    ['a gateway outside the subnet', net({ gateway: '10.213.9.1' })],
    ['a subnet with host bits', net({ subnet: '10.213.1.1/24' })],
    ['an IPv6 subnet', net({ subnet: 'fd00::/64' })],
    ['an interface name with a slash', net({ ifName: 'eth/0' })],
  ])('refuses %s', (_, endpoint) => {
    expect(() => resolveEndpoints([endpoint])).toThrow(InvalidArgumentError);
  });

  it('refuses a network, bridge or interface twice, and overlapping subnets', () => {
    expect(() => resolveEndpoints([net(), net({ ipAddress: '10.213.1.3' })])).toThrow(/appears twice/);
    expect(() => resolveEndpoints([net(), { ...other, ifName: 'eth0' }])).toThrow(/interface eth0 appears twice/);
    expect(() => resolveEndpoints([net(), { ...other, subnet: '10.213.0.0/16', gateway: '10.213.9.1', ipAddress: '10.213.9.2' }])).toThrow(
      /overlapping subnets/,
    );
  });
});

describe('checkedPortMappings', () => {
  it('accepts the same port on different addresses or protocols', () => {
    const ports = [
      { hostPort: 80, containerPort: 80, protocol: 'tcp' as const, hostIp: '127.0.0.1' },
      { hostPort: 80, containerPort: 80, protocol: 'tcp' as const, hostIp: '10.0.0.1' },
      { hostPort: 80, containerPort: 80, protocol: 'udp' as const },
    ];
    expect(checkedPortMappings(ports)).toEqual(ports);
  });

  it.each([
    [{ hostPort: 0, containerPort: 80, protocol: 'tcp' as const }],
    [{ hostPort: 70000, containerPort: 80, protocol: 'tcp' as const }],
    [{ hostPort: 80, containerPort: 1.5, protocol: 'tcp' as const }],
    [{ hostPort: 80, containerPort: 80, protocol: 'sctp' as 'tcp' }],
    [{ hostPort: 80, containerPort: 80, protocol: 'tcp' as const, hostIp: 'localhost' }],
  ])('refuses %j', (port) => {
    expect(() => checkedPortMappings([port])).toThrow(InvalidArgumentError);
  });

  it('refuses a host port published twice', () => {
    expect(() =>
      checkedPortMappings([
        { hostPort: 80, containerPort: 80, protocol: 'tcp' },
        { hostPort: 80, containerPort: 81, protocol: 'tcp', hostIp: '127.0.0.1' },
      ]),
    ).toThrow(/published twice/);
  });

  it('sees every-address publications collide with any address', () => {
    const any = { hostPort: 80, containerPort: 80, protocol: 'tcp' as const };
    expect(portsCollide(any, { ...any, hostIp: '127.0.0.1' })).toBe(true);
    expect(portsCollide({ ...any, hostIp: '0.0.0.0' }, { ...any, hostIp: '10.0.0.1' })).toBe(true);
    expect(portsCollide({ ...any, hostIp: '127.0.0.1' }, { ...any, hostIp: '10.0.0.1' })).toBe(false);
    expect(portsCollide(any, { ...any, protocol: 'udp' })).toBe(false);
    expect(portsCollide(any, { ...any, hostPort: 81 })).toBe(false);
  });
});

describe('names', () => {
  it("names a container's namespace after it", () => {
    expect(netnsName('ctr_01abc')).toBe('berth-ctr_01abc');
    expect(netnsPath('ctr_01abc')).toBe('/var/run/netns/berth-ctr_01abc');
    expect(() => netnsName('../etc')).toThrow(InvalidArgumentError);
  });

  it('names host veths berthv + 9 hex digits, stable per container and interface', () => {
    const name = hostVethName('ctr_01abc', 'eth0');
    expect(name).toMatch(/^berthv[0-9a-f]{9}$/);
    expect(name).toHaveLength(15);
    expect(hostVethName('ctr_01abc', 'eth0')).toBe(name);
    expect(hostVethName('ctr_01abc', 'eth1')).not.toBe(name);
    expect(isBridgeName(name)).toBe(false);
    expect(isBridgeName('berth-front')).toBe(true);
  });
});
