import { z } from 'zod';
import { count, hostName, id, ipv4, list, shortText } from './fields';

export const NetworkSyncHostSchema = z.object({
  hostId: id('host'),
  name: hostName(),
  overlayAddress: ipv4().optional(),
});
export type NetworkSyncHost = z.infer<typeof NetworkSyncHostSchema>;

export const NetworkSyncEndpointSchema = z.object({
  containerId: id('container'),
  name: shortText(256),
  hostId: id('host'),
  ipAddress: ipv4(),
  aliases: list(shortText(256), 256),
});
export type NetworkSyncEndpoint = z.infer<typeof NetworkSyncEndpointSchema>;

/**
 * A network's members as the control plane knows them, sent to every host that has
 * members on it whenever they change (a join, a leave, a rename). Not an operation:
 * it carries no operation id, and a newer revision makes an older one moot.
 */
export const NetworkSyncJobSchema = z.object({
  networkId: id('network'),
  bridge: z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/, { error: 'must be an interface name (at most 15 characters)' }),
  /** Grows with every change of the network's members; a host ignores anything older than what it has. */
  revision: count(),
  /** The VXLAN network identifier of the network on every host. */
  vni: count().max(16_777_215),
  /** Every host with members on the network; those with an overlay address are reachable from the others. */
  hosts: list(NetworkSyncHostSchema, 10_000),
  /** Every member of the network, on any host. */
  endpoints: list(NetworkSyncEndpointSchema, 100_000),
});
export type NetworkSyncJob = z.infer<typeof NetworkSyncJobSchema>;
