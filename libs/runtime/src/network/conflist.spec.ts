import { pluginStdin } from './cni';
import { cniPortMappings, endpointConfigList, portMappingsOf, staticAddresses } from './conflist';
import { resolveEndpoints, type Endpoint } from './endpoint';

const routed: Endpoint = {
  networkId: 'net_01front',
  name: 'front',
  bridge: 'berth-front',
  subnet: '10.213.1.0/24',
  gateway: '10.213.1.1',
  ipAddress: '10.213.1.7',
  internal: false,
};

describe('endpointConfigList', () => {
  it('chains bridge (static address, gateway, masquerade), portmap and firewall for a routed network', () => {
    const [endpoint] = resolveEndpoints([routed]);
    expect(endpointConfigList(endpoint)).toEqual({
      cniVersion: '1.0.0',
      name: 'berth-net_01front',
      plugins: [
        {
          type: 'bridge',
          bridge: 'berth-front',
          isGateway: true,
          isDefaultGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'static', addresses: [{ address: '10.213.1.7/24', gateway: '10.213.1.1' }] },
        },
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
        { type: 'firewall', backend: 'iptables' },
      ],
    });
  });

  it('gives an internal network no default route and no masquerading', () => {
    const [endpoint] = resolveEndpoints([{ ...routed, internal: true }]);
    const bridge = endpointConfigList(endpoint).plugins[0];
    expect(bridge).toMatchObject({ isGateway: true, isDefaultGateway: false, ipMasq: false });
  });

  it('knows the static addresses of a list', () => {
    const [endpoint] = resolveEndpoints([routed]);
    expect(staticAddresses(endpointConfigList(endpoint))).toEqual([{ address: '10.213.1.7/24', gateway: '10.213.1.1' }]);
    expect(staticAddresses({ cniVersion: '1.0.0', name: 'x', plugins: [] })).toEqual([]);
  });
});

describe('port mappings', () => {
  it('go to CNI as hostIP only when a host address is set, and come back unchanged', () => {
    const ports = [
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' as const, hostIp: '127.0.0.1' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp' as const },
    ];
    const cni = cniPortMappings(ports);
    expect(cni).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp' },
    ]);
    expect(portMappingsOf({ portMappings: cni })).toEqual(ports);
    expect(portMappingsOf(undefined)).toEqual([]);
  });
});

describe('pluginStdin', () => {
  const [endpoint] = resolveEndpoints([routed]);
  const list = endpointConfigList(endpoint);
  const runtimeConfig = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] };
  const prevResult = { cniVersion: '1.0.0', ips: [{ address: '10.213.1.7/24' }] };

  it('adds the list name and version, and the previous result', () => {
    expect(pluginStdin(list, list.plugins[2], runtimeConfig, prevResult)).toEqual({
      type: 'firewall',
      backend: 'iptables',
      cniVersion: '1.0.0',
      name: 'berth-net_01front',
      prevResult,
    });
  });

  it('gives runtime config only to plugins with the matching capability', () => {
    expect(pluginStdin(list, list.plugins[1], runtimeConfig, undefined)).toEqual({
      type: 'portmap',
      capabilities: { portMappings: true },
      snat: true,
      cniVersion: '1.0.0',
      name: 'berth-net_01front',
      runtimeConfig,
    });
    expect(pluginStdin(list, list.plugins[0], runtimeConfig, undefined)).not.toHaveProperty('runtimeConfig');
    expect(pluginStdin(list, list.plugins[1], undefined, undefined)).not.toHaveProperty('runtimeConfig');
  });
});
