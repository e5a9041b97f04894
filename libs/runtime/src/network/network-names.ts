import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@berth/domain';
import { checkedId } from '../shared/container-id';

/**
 * Every object Berth makes on a host for its networks carries a `berth` prefix, so
 * it is recognisable on the host (what a worker removes is what its state dir records):
 *
 *   berth-<container id>   the container's named network namespace (/var/run/netns)
 *   berth-<≤9 chars>       a network's bridge (chosen by the control plane)
 *   berthv<9 hex>          the host end of a container's veth (a hash of container and interface)
 *   berth-<network id>     the CNI network name, seen in the plugins' iptables comments
 *   BERTH-*                Berth's own iptables chains
 */

export const NETNS_DIR = '/var/run/netns';
export const NETNS_PREFIX = 'berth-';
export const BRIDGE_PREFIX = 'berth-';
export const HOST_VETH_PREFIX = 'berthv';
export const CNI_NETWORK_PREFIX = 'berth-';

/** Linux interface names hold at most 15 characters (IFNAMSIZ - 1). */
const BRIDGE_PATTERN = /^berth-[A-Za-z0-9][A-Za-z0-9_-]{0,8}$/;
const IF_NAME_PATTERN = /^[a-z][a-z0-9]{0,14}$/;
const NETWORK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function netnsName(containerId: string): string {
  return `${NETNS_PREFIX}${checkedId(containerId)}`;
}

export function netnsPath(containerId: string): string {
  return `${NETNS_DIR}/${netnsName(containerId)}`;
}

export function isBridgeName(name: string): boolean {
  return BRIDGE_PATTERN.test(name);
}

export function checkedBridgeName(name: string): string {
  if (!isBridgeName(name)) {
    throw new InvalidArgumentError(`invalid bridge name ${JSON.stringify(name)}`, [
      { field: 'bridge', message: 'berth- followed by 1 to 9 letters, digits, _ or -' },
    ]);
  }
  return name;
}

export function checkedIfName(name: string): string {
  if (!IF_NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError(`invalid interface name ${JSON.stringify(name)}`, [
      { field: 'ifName', message: 'lower-case letters and digits, starting with a letter, at most 15 characters' },
    ]);
  }
  return name;
}

export function cniNetworkName(networkId: string): string {
  if (!NETWORK_ID_PATTERN.test(networkId)) {
    throw new InvalidArgumentError(`invalid network id ${JSON.stringify(networkId)}`, [
      { field: 'networkId', message: 'letters, digits, _, . and - only, at most 128 characters' },
    ]);
  }
  return `${CNI_NETWORK_PREFIX}${networkId}`;
}

/** The host end of a container's veth: stable per (container, interface), 15 characters. */
export function hostVethName(containerId: string, ifName: string): string {
  const digest = createHash('sha256')
    .update(`${checkedId(containerId)}/${ifName}`)
    .digest('hex');
  return `${HOST_VETH_PREFIX}${digest.slice(0, 9)}`;
}
