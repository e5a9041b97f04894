import {
  assignAddress,
  formatIpv4,
  formatSubnet,
  isAssignable,
  nextFreeAddress,
  nextFreeSubnet,
  parseIpv4,
  parseNetworkRequests,
  parseSubnet,
  planNetworkAddressing,
  subnetsOverlap,
} from './ipam';

describe('IPv4 address management', () => {
  it('parses and formats addresses and subnets, refusing malformed ones with the field named', () => {
    expect(formatIpv4(parseIpv4('10.213.4.9'))).toBe('10.213.4.9');
    expect(formatSubnet(parseSubnet('172.30.0.0/16'))).toBe('172.30.0.0/16');
    for (const bad of ['10.0.0', '10.0.0.256', '01.0.0.1', 'a.b.c.d'])
      expect(() => parseIpv4(bad, 'gateway')).toThrow(expect.objectContaining({ violations: [expect.objectContaining({ field: 'gateway' })] }));
    for (const bad of ['10.0.0.0', '10.0.0.0/31', '10.0.0.0/7', '10.0.0.1/24', '10.0.0.0/24/1'])
      expect(() => parseSubnet(bad)).toThrow(expect.objectContaining({ reason: 'InvalidSubnet' }));
  });

  it('hands out the lowest free address, never the network, broadcast or gateway address', () => {
    const s = parseSubnet('10.1.0.0/29'); // .0 network, .7 broadcast
    const gw = parseIpv4('10.1.0.1');
    const taken = new Set<number>();
    const got: string[] = [];
    for (let i = 0; i < 6; i++) {
      const ip = nextFreeAddress(s, gw, taken);
      if (ip === undefined) break;
      taken.add(ip);
      got.push(formatIpv4(ip));
    }
    expect(got).toEqual(['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6']);
    expect(isAssignable(s, gw, parseIpv4('10.1.0.7'))).toBe(false);
    expect(isAssignable(s, gw, parseIpv4('10.1.0.1'))).toBe(false);
    expect(isAssignable(s, gw, parseIpv4('10.1.0.5'))).toBe(true);
  });

  it('keeps to an ip range inside the subnet', () => {
    const s = parseSubnet('10.2.0.0/24');
    expect(formatIpv4(nextFreeAddress(s, parseIpv4('10.2.0.1'), new Set(), parseSubnet('10.2.0.128/25'))!)).toBe('10.2.0.128');
    expect(isAssignable(s, parseIpv4('10.2.0.1'), parseIpv4('10.2.0.5'), parseSubnet('10.2.0.128/25'))).toBe(false);
  });

  it('carves subnets out of a pool around the ones in use', () => {
    const pool = parseSubnet('10.213.0.0/16');
    const used = [parseSubnet('10.213.0.0/24'), parseSubnet('10.213.2.0/23')];
    expect(formatSubnet(nextFreeSubnet(pool, 24, used)!)).toBe('10.213.1.0/24');
    expect(subnetsOverlap(parseSubnet('10.213.2.0/23'), parseSubnet('10.213.3.0/24'))).toBe(true);
    expect(nextFreeSubnet(parseSubnet('10.9.0.0/24'), 24, [parseSubnet('10.9.0.0/24')])).toBeUndefined();
  });
});

describe('network requests on create', () => {
  it('takes names and objects, and names the field of a bad entry', () => {
    expect(parseNetworkRequests(['front', { name: 'back', aliases: ['db', 'db.internal'], ipAddress: '10.0.0.9' }])).toEqual([
      { network: 'front', aliases: [] },
      { network: 'back', aliases: ['db', 'db.internal'], ipAddress: '10.0.0.9' },
    ]);
    const field = (input: unknown) => {
      try {
        parseNetworkRequests(input);
        return 'accepted';
      } catch (err) {
        return (err as { violations: { field: string }[] }).violations[0].field;
      }
    };
    expect(field('front')).toBe('networks');
    expect(field([''])).toBe('networks[0]');
    expect(field([{ name: 'a', ipAddress: '10.0.0.300' }])).toBe('networks[0].ipAddress');
    expect(field(['a', { name: 'b', aliases: ['bad alias'] }])).toBe('networks[1].aliases');
    expect(field([{ name: 'a', mac: 'x' }])).toBe('networks[0].mac');
    expect(field([{ aliases: [] }])).toBe('networks[0].name');
  });
});

describe('planning a new network', () => {
  const pool = '10.240.0.0/16';

  it('takes the first free /24 of the pool and its first host address as gateway', () => {
    expect(planNetworkAddressing({}, pool, ['10.240.0.0/24', '10.9.0.0/16'])).toEqual({ subnet: '10.240.1.0/24', gateway: '10.240.1.1', ipRange: null });
  });

  it('keeps the subnet, gateway and range asked for', () => {
    expect(planNetworkAddressing({ subnet: '10.77.0.0/24', gateway: '10.77.0.254', ipRange: '10.77.0.128/25' }, pool, ['10.76.0.0/24'])).toEqual({
      subnet: '10.77.0.0/24',
      gateway: '10.77.0.254',
      ipRange: '10.77.0.128/25',
    });
  });

  it('refuses a subnet that overlaps any network, whichever contains the other', () => {
    for (const subnet of ['10.77.1.0/24', '10.77.0.0/16'])
      expect(() => planNetworkAddressing({ subnet }, pool, ['10.77.0.0/20'])).toThrow(expect.objectContaining({ reason: 'SubnetInUse' }));
  });

  it('answers Unavailable when the pool is used up', () => {
    expect(() => planNetworkAddressing({}, '10.9.0.0/24', ['10.9.0.0/24'])).toThrow(expect.objectContaining({ reason: 'AddressPoolExhausted' }));
  });

  it('refuses a gateway or range outside the subnet, naming the field', () => {
    for (const gateway of ['10.77.1.1', '10.77.0.0', '10.77.0.255'])
      expect(() => planNetworkAddressing({ subnet: '10.77.0.0/24', gateway }, pool, [])).toThrow(
        expect.objectContaining({ reason: 'InvalidGateway', violations: [expect.objectContaining({ field: 'gateway' })] }),
      );
    expect(() => planNetworkAddressing({ subnet: '10.77.0.0/24', ipRange: '10.77.0.0/23' }, pool, [])).toThrow(
      expect.objectContaining({ reason: 'InvalidIpRange', violations: [expect.objectContaining({ field: 'ipRange' })] }),
    );
  });
});

describe('assigning a container its address', () => {
  const network = { name: 'back', subnet: '10.5.0.0/29', gateway: '10.5.0.1', ipRange: null };

  it('hands out the lowest free address', () => {
    expect(assignAddress(network, ['10.5.0.2', '10.5.0.4'], undefined, 'ip')).toBe('10.5.0.3');
    expect(assignAddress({ ...network, subnet: '10.5.0.0/24', ipRange: '10.5.0.128/25' }, [], undefined, 'ip')).toBe('10.5.0.128');
  });

  it('gives the address asked for, unless it is taken or not assignable', () => {
    expect(assignAddress(network, ['10.5.0.2'], '10.5.0.6', 'ip')).toBe('10.5.0.6');
    expect(() => assignAddress(network, ['10.5.0.2'], '10.5.0.2', 'ip')).toThrow(expect.objectContaining({ reason: 'AddressInUse' }));
    for (const fixed of ['10.5.0.1', '10.5.0.7', '10.6.0.2'])
      expect(() => assignAddress(network, [], fixed, 'networks[0].ipAddress')).toThrow(
        expect.objectContaining({ reason: 'InvalidAddress', violations: [expect.objectContaining({ field: 'networks[0].ipAddress' })] }),
      );
  });

  it('answers NetworkFull when no address is left', () => {
    const all = ['10.5.0.2', '10.5.0.3', '10.5.0.4', '10.5.0.5', '10.5.0.6'];
    expect(() => assignAddress(network, all, undefined, 'ip')).toThrow(expect.objectContaining({ reason: 'NetworkFull' }));
  });
});
