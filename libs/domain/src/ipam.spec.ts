import { formatIpv4, formatSubnet, isAssignable, nextFreeAddress, nextFreeSubnet, parseIpv4, parseNetworkRequests, parseSubnet, subnetsOverlap } from './ipam';

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
