import { InvalidArgumentError } from '@berth/domain';
import type { ContainerResources, Ulimit } from '@berth/domain';

/** Resource limits as runc takes them: `linux.resources` (cgroups) and `process.rlimits`. */

export const CPU_PERIOD_US = 100_000;
/** Docker refuses less (`Minimum memory limit allowed is 6MB`). */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
export const DEFAULT_SHM_SIZE_BYTES = 64 * 1024 * 1024;

export interface OciDeviceRule {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access: string;
}

export interface OciLinuxResources {
  devices?: OciDeviceRule[];
  memory?: { limit?: number; swap?: number };
  cpu?: { quota?: number; period?: number; shares?: number; cpus?: string };
  pids?: { limit: number };
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

/** The rlimits Linux has, by the name callers use (`nofile`), in /proc/<pid>/limits order. */
export const RLIMIT_NAMES = [
  'cpu',
  'fsize',
  'data',
  'stack',
  'core',
  'rss',
  'nproc',
  'nofile',
  'memlock',
  'as',
  'locks',
  'sigpending',
  'msgqueue',
  'nice',
  'rtprio',
  'rttime',
] as const;
export type RlimitName = (typeof RLIMIT_NAMES)[number];

/** The host's hard limits (this process's), by name; Infinity for unlimited. */
export type HostRlimits = Partial<Record<RlimitName, number>>;

/** The cgroup part of `linux.resources` (devices apart), with Docker's rules and checks. */
export function cgroupResources(resources: ContainerResources | undefined, options: { swapLimit?: boolean } = {}): Omit<OciLinuxResources, 'devices'> {
  if (!resources) return {};
  const out: Omit<OciLinuxResources, 'devices'> = {};
  const memory = memoryLimits(resources, options.swapLimit ?? true);
  if (memory) out.memory = memory;
  const cpu: NonNullable<OciLinuxResources['cpu']> = {};
  if (resources.cpus !== undefined) {
    positive(resources.cpus, 'resources.cpus', false);
    const quota = Math.round(resources.cpus * CPU_PERIOD_US);
    if (quota < 1000) throw invalid('resources.cpus', 'must be at least 0.01', 'InvalidCpus');
    Object.assign(cpu, { quota, period: CPU_PERIOD_US });
  }
  if (resources.cpuShares !== undefined) {
    positive(resources.cpuShares, 'resources.cpuShares');
    if (resources.cpuShares < 2 || resources.cpuShares > 262144) throw invalid('resources.cpuShares', 'must be between 2 and 262144');
    cpu.shares = resources.cpuShares;
  }
  if (resources.cpusetCpus !== undefined) {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(resources.cpusetCpus)) {
      throw invalid('resources.cpusetCpus', 'expected a list like 0-2,4', 'InvalidCpuset');
    }
    cpu.cpus = resources.cpusetCpus;
  }
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (resources.pidsLimit !== undefined) {
    if (!Number.isInteger(resources.pidsLimit)) throw invalid('resources.pidsLimit', 'must be an integer');
    // As Docker: zero or less means unlimited.
    out.pids = { limit: resources.pidsLimit > 0 ? resources.pidsLimit : -1 };
  }
  return out;
}

/** Docker's rule: swap (memory plus swap) unset with a memory limit → twice the memory; -1 → unlimited swap. */
function memoryLimits(resources: ContainerResources, swapLimit: boolean): OciLinuxResources['memory'] | undefined {
  const { memoryBytes, memorySwapBytes } = resources;
  if (memoryBytes === undefined) {
    if (memorySwapBytes !== undefined && memorySwapBytes !== -1) {
      throw invalid('resources.memorySwapBytes', 'a swap limit needs a memory limit', 'SwapWithoutMemory');
    }
    return undefined;
  }
  positive(memoryBytes, 'resources.memoryBytes');
  if (memoryBytes < MIN_MEMORY_BYTES) throw invalid('resources.memoryBytes', 'the minimum memory limit is 6 MiB', 'MemoryTooLow');
  if (memorySwapBytes !== undefined && memorySwapBytes !== -1) {
    positive(memorySwapBytes, 'resources.memorySwapBytes');
    if (memorySwapBytes < memoryBytes) {
      throw invalid('resources.memorySwapBytes', 'must be at least the memory limit (it counts memory plus swap)', 'SwapBelowMemory');
    }
  }
  if (!swapLimit) return { limit: memoryBytes };
  return { limit: memoryBytes, swap: memorySwapBytes ?? 2 * memoryBytes };
}

/**
 * `process.rlimits`: Docker's NOFILE default (1024 soft, host-capped hard) unless
 * the request sets nofile, then each requested ulimit, checked against the host.
 */
export function processRlimits(ulimits: Ulimit[] | undefined, host: HostRlimits, defaultNofile: { soft: number; hard: number }): OciRlimit[] {
  const requested = new Map<RlimitName, OciRlimit>();
  for (const ulimit of ulimits ?? []) {
    const name = String(ulimit.name).trim().toLowerCase() as RlimitName;
    if (!RLIMIT_NAMES.includes(name)) {
      throw invalid('resources.ulimits', `unknown ulimit ${JSON.stringify(ulimit.name)}`, 'UnknownUlimit');
    }
    for (const [which, value] of [
      ['soft', ulimit.soft],
      ['hard', ulimit.hard],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw invalid('resources.ulimits', `ulimit ${name}: ${which} must be a non-negative integer`, 'InvalidUlimit');
      }
    }
    const hostHard = host[name] ?? Infinity;
    if (Math.max(ulimit.soft, ulimit.hard) > hostHard) {
      throw invalid(
        'resources.ulimits',
        `ulimit ${name}: ${Math.max(ulimit.soft, ulimit.hard)} is above the host's hard limit ${hostHard}`,
        'UlimitAboveHostLimit',
      );
    }
    if (ulimit.soft > ulimit.hard) {
      throw invalid('resources.ulimits', `ulimit ${name}: soft limit ${ulimit.soft} is above the hard limit ${ulimit.hard}`, 'InvalidUlimit');
    }
    requested.set(name, { type: `RLIMIT_${name.toUpperCase()}`, hard: ulimit.hard, soft: ulimit.soft });
  }
  const nofile = requested.get('nofile') ?? { type: 'RLIMIT_NOFILE', ...defaultNofile };
  requested.delete('nofile');
  return [nofile, ...requested.values()];
}

export function shmSize(resources: ContainerResources | undefined): number {
  const size = resources?.shmSizeBytes;
  if (size === undefined) return DEFAULT_SHM_SIZE_BYTES;
  positive(size, 'resources.shmSizeBytes');
  return size;
}

function positive(value: number, field: string, integer = true): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) {
    throw invalid(field, integer ? 'must be a positive integer' : 'must be a positive number');
  }
}

function invalid(field: string, message: string, reason = 'InvalidResources'): InvalidArgumentError {
  return new InvalidArgumentError(`${field}: ${message}`, [{ field, message }], reason);
}

/**
 * The resources after an update: the update over the current ones. Swap is as
 * asked; else, when the memory changes, Docker's default again (unlimited stays
 * unlimited). Ulimits and the /dev/shm size are set at create only.
 */
export function mergeResourceUpdate(current: ContainerResources | undefined, update: ContainerResources): ContainerResources {
  const base = current ?? {};
  for (const field of ['ulimits', 'shmSizeBytes'] as const) {
    if (update[field] !== undefined && JSON.stringify(update[field]) !== JSON.stringify(base[field])) {
      throw invalid(`resources.${field}`, 'cannot change on an existing container', 'NotUpdatable');
    }
  }
  const swap =
    update.memorySwapBytes !== undefined
      ? update.memorySwapBytes
      : update.memoryBytes !== undefined
        ? base.memorySwapBytes === -1
          ? -1
          : undefined
        : base.memorySwapBytes;
  const merged: ContainerResources = { ...base, ...update, memorySwapBytes: swap };
  if (merged.memorySwapBytes === undefined) delete merged.memorySwapBytes;
  cgroupResources(merged); // the same checks as at create
  return merged;
}
