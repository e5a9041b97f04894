import { InvalidArgumentError } from '@berth/domain';
import { isHostAddressOf, isIpv4, networkOf, numberToIpv4, ipv4ToNumber, parseSubnet, subnetContains, subnetsOverlap } from './ipv4';

describe('ipv4', () => {
  it('tells addresses from other strings', () => {
    expect(['10.213.1.2', '0.0.0.0', '255.255.255.255'].every(isIpv4)).toBe(true);
    expect(['10.213.1', '10.213.1.256', '010.1.1.1', '1.2.3.4 ', 'fd00::1', ''].some(isIpv4)).toBe(false);
    expect(numberToIpv4(ipv4ToNumber('10.213.1.2'))).toBe('10.213.1.2');
  });

  it('parses subnets and refuses host bits, IPv6 and odd prefixes', () => {
    expect(parseSubnet('10.213.1.0/24')).toEqual({ network: '10.213.1.0', prefixLength: 24 });
    for (const bad of ['10.213.1.1/24', '10.213.1.0', '10.213.1.0/33', '10.0.0.0/4', 'fd00::/64', '10.213.1.0/24/1']) {
      expect(() => parseSubnet(bad)).toThrow(InvalidArgumentError);
    }
  });

  it('knows host addresses, containment and overlaps', () => {
    const subnet = parseSubnet('10.213.1.0/24');
    expect(isHostAddressOf('10.213.1.1', subnet)).toBe(true);
    expect(isHostAddressOf('10.213.1.254', subnet)).toBe(true);
    expect(isHostAddressOf('10.213.1.0', subnet)).toBe(false);
    expect(isHostAddressOf('10.213.1.255', subnet)).toBe(false);
    expect(isHostAddressOf('10.213.2.1', subnet)).toBe(false);
    expect(subnetContains(subnet, '10.213.1.255')).toBe(true);
    expect(subnetContains(subnet, '10.213.2.0')).toBe(false);
    expect(subnetsOverlap(subnet, parseSubnet('10.213.0.0/16'))).toBe(true);
    expect(subnetsOverlap(subnet, parseSubnet('10.213.2.0/24'))).toBe(false);
    expect(networkOf('10.213.1.1/24')).toEqual(subnet);
    expect(networkOf('10.213.77.130/25')).toEqual({ network: '10.213.77.128', prefixLength: 25 });
  });
});
