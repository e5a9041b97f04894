import type { EntityManager } from 'typeorm';
import {
  AlreadyExistsError,
  FIRST_VNI,
  InvalidArgumentError,
  Network,
  UnavailableError,
  formatIpv4,
  formatSubnet,
  newId,
  nextFreeSubnet,
  parseIpv4,
  parseSubnet,
  subnetContains,
  subnetsOverlap,
} from '@berth/domain';
import { isUniqueViolation } from '../common/unique-violation';

const AUTO_PREFIX = 24;
/** The advisory lock network creates hold on PostgreSQL. */
const NETWORK_CREATE_LOCK = 0x4245_5254_484e;

export interface NetworkRequestFields {
  name: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  labels?: Record<string, string>;
}

/**
 * Inserts a network inside `tx`: its subnet (given, or the next free /24 of the
 * pool), gateway, range, bridge name and VNI, refusing overlaps with any team's
 * networks (bridges share the hosts' routing). Plain function (no framework), so
 * it is tested on a real PostgreSQL.
 */
export async function insertNetwork(
  tx: EntityManager,
  { teamId, pool, request, isDefault }: { teamId: string; pool: string; request: NetworkRequestFields; isDefault: boolean },
): Promise<Network> {
  // Subnets must not overlap and VNIs are handed out in order, across all teams: on
  // PostgreSQL, creates take turns (SQLite runs one write transaction at a time anyway).
  if (tx.connection.options.type === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [NETWORK_CREATE_LOCK]);
  const all = await tx.getRepository(Network).find({ select: { subnet: true, name: true, teamId: true } });
  if (all.some((n) => n.teamId === teamId && n.name === request.name))
    throw new AlreadyExistsError(`a network named "${request.name}" already exists`, 'NetworkNameInUse');
  const used = all.map((n) => parseSubnet(n.subnet));
  let subnet;
  if (request.subnet) {
    subnet = parseSubnet(request.subnet, 'subnet');
    if (used.some((u) => subnetsOverlap(u, subnet!))) throw new AlreadyExistsError(`subnet ${request.subnet} overlaps a network that exists`, 'SubnetInUse');
  } else {
    subnet = nextFreeSubnet(parseSubnet(pool, 'BERTH_NETWORK_POOL'), AUTO_PREFIX, used);
    if (!subnet) throw new UnavailableError(`the address pool ${pool} has no free /${AUTO_PREFIX} left`, 'AddressPoolExhausted');
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
  const id = newId('network');
  const { maxVni } = (await tx.getRepository(Network).createQueryBuilder('n').select('MAX(n.vni)', 'maxVni').getRawOne<{ maxVni: number | null }>()) ?? {
    maxVni: null,
  };
  const network = Object.assign(new Network(), {
    id,
    teamId,
    name: request.name,
    driver: 'bridge' as const,
    subnet: formatSubnet(subnet),
    gateway: formatIpv4(gateway),
    ipRange: request.ipRange ?? null,
    internal: request.internal === true,
    isDefault,
    bridge: `berth-${id.slice(-9)}`,
    labels: request.labels ?? {},
    vni: Math.max(FIRST_VNI - 1, Number(maxVni ?? 0)) + 1,
    revision: 0,
    syncedRevision: 0,
    createdAt: new Date(),
  });
  await tx
    .getRepository(Network)
    .insert(network)
    .catch((err) => {
      throw isUniqueViolation(err) ? new AlreadyExistsError(`network "${request.name}" or its subnet already exists`, 'NetworkNameInUse') : err;
    });
  return network;
}
