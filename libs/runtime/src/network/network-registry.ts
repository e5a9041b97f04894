import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InternalError } from '@berth/domain';
import type { ResolvedEndpoint } from './endpoint';
import { parseSubnet, subnetsOverlap } from './ipv4';
import { checkedBridgeName, isBridgeName } from './network-names';

/** A network as this host knows it: what its bridge and isolation rules are made from. */
export interface HostNetworkRecord {
  bridge: string;
  networkId: string;
  name: string;
  subnet: string;
  internal: boolean;
}

export function networkRecordOf(endpoint: ResolvedEndpoint): HostNetworkRecord {
  return { bridge: endpoint.bridge, networkId: endpoint.networkId, name: endpoint.name, subnet: endpoint.subnet, internal: endpoint.internal };
}

export function sameNetwork(a: HostNetworkRecord, b: HostNetworkRecord): boolean {
  return a.bridge === b.bridge && a.networkId === b.networkId && a.subnet === b.subnet && a.internal === b.internal;
}

/** Why `candidate` cannot join the host's networks: another network has its bridge or an overlapping subnet. */
export function networkConflict(candidate: HostNetworkRecord, known: readonly HostNetworkRecord[]): string | undefined {
  for (const other of known) {
    if (other.bridge === candidate.bridge) {
      if (sameNetwork(other, candidate)) continue;
      return `bridge ${candidate.bridge} already serves network ${other.networkId} (${other.subnet}${other.internal ? ', internal' : ''})`;
    }
    if (other.networkId === candidate.networkId) return `network ${candidate.networkId} already has bridge ${other.bridge}`;
    if (subnetsOverlap(parseSubnet(other.subnet), parseSubnet(candidate.subnet))) {
      return `subnet ${candidate.subnet} overlaps ${other.subnet} of network ${other.networkId}`;
    }
  }
  return undefined;
}

export function networkConflictError(network: HostNetworkRecord, conflict: string): ConflictError {
  return new ConflictError(`network ${network.name} (${network.networkId}) cannot be set up on this host: ${conflict}`, 'NetworkConflict');
}

/** The host's networks on disk, one file per bridge: `<stateDir>/networks/<bridge>.json`. */
export class NetworkRegistry {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'networks');
  }

  async list(): Promise<HostNetworkRecord[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const bridges = names
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -5))
      .filter(isBridgeName);
    const records = await Promise.all(bridges.map((b) => this.get(b)));
    return records.filter((r): r is HostNetworkRecord => !!r).sort((a, b) => a.bridge.localeCompare(b.bridge));
  }

  async get(bridge: string): Promise<HostNetworkRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.path(bridge), 'utf8')) as HostNetworkRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new InternalError(`unreadable network record for ${bridge}: ${(err as Error).message}`, 'NetworkRecordCorrupt');
    }
  }

  /** Records a network; refuses one that clashes with another network on this host. */
  async save(record: HostNetworkRecord): Promise<void> {
    const conflict = networkConflict(record, await this.list());
    if (conflict) throw networkConflictError(record, conflict);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = this.path(record.bridge);
    await writeFile(`${path}.tmp`, JSON.stringify(record, null, 2), { mode: 0o600 });
    await rename(`${path}.tmp`, path);
  }

  async remove(bridge: string): Promise<void> {
    await rm(this.path(bridge), { force: true });
  }

  private path(bridge: string): string {
    return join(this.dir, `${checkedBridgeName(bridge)}.json`);
  }
}
