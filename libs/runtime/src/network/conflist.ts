import type { PortMapping, ResolvedEndpoint } from './endpoint';
import { parseSubnet } from './ipv4';
import { cniNetworkName } from './network-names';

/** The CNI spec version Berth speaks; Debian's plugins 1.1.1 accept it (firewall needs at least 0.4.0). */
export const CNI_VERSION = '1.0.0';

export interface CniPluginConfig {
  type: string;
  /** Runtime capabilities this plugin takes from `runtimeConfig` (e.g. portMappings). */
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A CNI network configuration list (a "conflist"). */
export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  plugins: CniPluginConfig[];
}

/** CNI's port-mapping convention (`hostIP`, as the portmap plugin reads it). */
export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

/** Arguments a runtime hands to the plugins that declare the matching capability. */
export interface CniRuntimeConfig {
  portMappings?: CniPortMapping[];
}

/**
 * The plugin chain of one container's endpoint: `bridge` with a static address
 * (the control plane allocates addresses), `portmap` for published ports, and
 * `firewall` so the address is accepted even where FORWARD's policy is DROP.
 *
 * Every bridge holds its network's gateway address, so the host reaches the
 * containers of every network, internal ones included (as with Docker). Internal
 * networks get no default route and no masquerading, and Berth's isolation rules
 * drop anything that leaves their bridge or that they start towards the host.
 */
export function endpointConfigList(endpoint: ResolvedEndpoint): NetworkConfigList {
  const { prefixLength } = parseSubnet(endpoint.subnet);
  const routed = !endpoint.internal;
  return {
    cniVersion: CNI_VERSION,
    name: cniNetworkName(endpoint.networkId),
    plugins: [
      {
        type: 'bridge',
        bridge: endpoint.bridge,
        isGateway: true,
        isDefaultGateway: routed,
        ipMasq: routed,
        // Lets a container reach itself through its own published port.
        hairpinMode: true,
        ...(endpoint.mtu ? { mtu: endpoint.mtu } : {}),
        ipam: {
          type: 'static',
          addresses: [{ address: `${endpoint.ipAddress}/${prefixLength}`, gateway: endpoint.gateway }],
        },
      },
      {
        type: 'portmap',
        capabilities: { portMappings: true },
        // Marks connections from 127.0.0.1 and hairpin connections for masquerading and
        // sets route_localnet on the bridge, so a published port answers on the host's loopback.
        snat: true,
      },
      // The iptables backend explicitly: the default would use firewalld whenever it runs.
      { type: 'firewall', backend: 'iptables' },
    ],
  };
}

export function cniPortMappings(ports: readonly PortMapping[]): CniPortMapping[] {
  return ports.map((port) => ({
    hostPort: port.hostPort,
    containerPort: port.containerPort,
    protocol: port.protocol,
    ...(port.hostIp ? { hostIP: port.hostIp } : {}),
  }));
}

/** Back from CNI's convention to Berth's. */
export function portMappingsOf(runtimeConfig: CniRuntimeConfig | undefined): PortMapping[] {
  return (runtimeConfig?.portMappings ?? []).map((m) => ({
    hostPort: m.hostPort,
    containerPort: m.containerPort,
    protocol: m.protocol === 'udp' ? 'udp' : 'tcp',
    ...(m.hostIP ? { hostIp: m.hostIP } : {}),
  }));
}

/** The static addresses a config list gives (what a DEL must clean up when ADD left no result). */
export function staticAddresses(config: NetworkConfigList): { address: string; gateway?: string }[] {
  const ipam = config.plugins.find((p) => p.type === 'bridge')?.ipam as { addresses?: { address: string; gateway?: string }[] } | undefined;
  return ipam?.addresses ?? [];
}
