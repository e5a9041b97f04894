import { AlreadyExistsError, FIRST_VNI, Network, newId, planNetworkAddressing } from '@berth/domain';
import { isUniqueViolation } from '../common/unique-violation';
import { NetworksRepository } from './networks.repository';

export interface NetworkRequestFields {
  name: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  labels?: Record<string, string>;
}

export interface NewNetwork {
  teamId: string;
  /** Where subnets come from when the request names none (BERTH_NETWORK_POOL). */
  pool: string;
  request: NetworkRequestFields;
  isDefault: boolean;
}

/**
 * Writes a network in the transaction in progress: its subnet (given, or the next
 * free /24 of the pool), gateway, range, bridge name and VNI, refusing overlaps
 * with any team's networks (bridges share the hosts' routing). On PostgreSQL,
 * creates take turns under an advisory lock, so concurrent ones never overlap.
 */
export async function createNetwork(networks: NetworksRepository, { teamId, pool, request, isDefault }: NewNetwork): Promise<Network> {
  await networks.lockCreates();
  const all = await networks.allNetworks();
  if (all.some((n) => n.teamId === teamId && n.name === request.name))
    throw new AlreadyExistsError(`a network named "${request.name}" already exists`, 'NetworkNameInUse');
  const addressing = planNetworkAddressing(
    request,
    pool,
    all.map((n) => n.subnet),
  );
  const id = newId('network');
  const maxVni = await networks.maxVni();
  const network = Object.assign(new Network(), {
    id,
    teamId,
    name: request.name,
    driver: 'bridge' as const,
    ...addressing,
    internal: request.internal === true,
    isDefault,
    bridge: `berth-${id.slice(-9)}`,
    labels: request.labels ?? {},
    vni: Math.max(FIRST_VNI - 1, maxVni ?? 0) + 1,
    revision: 0,
    syncedRevision: 0,
    createdAt: new Date(),
  });
  await networks.insert({ teamId }, network).catch((err) => {
    throw isUniqueViolation(err) ? new AlreadyExistsError(`network "${request.name}" or its subnet already exists`, 'NetworkNameInUse') : err;
  });
  return network;
}
