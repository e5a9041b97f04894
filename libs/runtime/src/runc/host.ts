import { access, readFile } from 'node:fs/promises';
import { NOFILE_HARD } from '../oci-process';
import type { HostRlimits, RlimitName } from '../oci-resources';
import { pathExists } from '../shared/path-exists';

/** The hard RLIMIT_NOFILE of this process (`unlimited` counts as Docker's ceiling). */
export async function hostNofileHardLimit(limitsPath = '/proc/self/limits'): Promise<number> {
  return parseNofileHardLimit(await readFile(limitsPath, 'utf8'));
}

export function parseNofileHardLimit(limits: string): number {
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  if (!hard || hard === 'unlimited') return NOFILE_HARD;
  const value = Number(hard);
  return Number.isFinite(value) && value > 0 ? value : NOFILE_HARD;
}

/** cgroup v2 (unified) when the root has cgroup.controllers, else v1. */
export async function detectCgroupVersion(cgroupRoot = '/sys/fs/cgroup'): Promise<1 | 2> {
  try {
    await access(`${cgroupRoot}/cgroup.controllers`);
    return 2;
  } catch {
    return 1;
  }
}

/** /proc/<pid>/limits row titles → rlimit names. */
const LIMIT_ROWS: Record<string, RlimitName> = {
  'Max cpu time': 'cpu',
  'Max file size': 'fsize',
  'Max data size': 'data',
  'Max stack size': 'stack',
  'Max core file size': 'core',
  'Max resident set': 'rss',
  'Max processes': 'nproc',
  'Max open files': 'nofile',
  'Max locked memory': 'memlock',
  'Max address space': 'as',
  'Max file locks': 'locks',
  'Max pending signals': 'sigpending',
  'Max msgqueue size': 'msgqueue',
  'Max nice priority': 'nice',
  'Max realtime priority': 'rtprio',
  'Max realtime timeout': 'rttime',
};

/** Every hard limit of this process by name; `unlimited` is Infinity. */
export function parseHardLimits(limits: string): HostRlimits {
  const out: HostRlimits = {};
  for (const line of limits.split('\n')) {
    const title = Object.keys(LIMIT_ROWS).find((row) => line.startsWith(row));
    if (!title) continue;
    const hard = line.slice(title.length).trim().split(/\s+/)[1];
    const value = hard === 'unlimited' ? Infinity : Number(hard);
    if (hard !== undefined && !Number.isNaN(value)) out[LIMIT_ROWS[title]] = value;
  }
  return out;
}

export async function hostHardLimits(limitsPath = '/proc/self/limits'): Promise<HostRlimits> {
  return parseHardLimits(await readFile(limitsPath, 'utf8'));
}

/** Whether the kernel accounts swap per cgroup, so a swap limit can be set (Docker drops it otherwise). */
export async function swapLimitSupported(cgroupVersion: 1 | 2, cgroupRoot = '/sys/fs/cgroup'): Promise<boolean> {
  if (cgroupVersion === 1) return pathExists(`${cgroupRoot}/memory/memory.memsw.limit_in_bytes`);
  // v2: the root has no memory.swap.max; look at a child cgroup that has memory enabled.
  for (const child of ['init.scope', 'system.slice', 'user.slice', 'berth']) {
    if (await pathExists(`${cgroupRoot}/${child}/memory.max`)) return pathExists(`${cgroupRoot}/${child}/memory.swap.max`);
  }
  return true; // nothing to look at: let runc decide
}

/** What the host allows containers, as create, stats and update need it. */
export interface HostFacts {
  nofileHard: number;
  rlimits: HostRlimits;
  cgroupVersion: 1 | 2;
  swapLimit: boolean;
}

/** The host's facts, read once and kept (read again after a failed read). */
export class HostFactsCache {
  private pending?: Promise<HostFacts>;

  get(): Promise<HostFacts> {
    this.pending ??= (async () => {
      const [nofileHard, rlimits, cgroupVersion] = await Promise.all([hostNofileHardLimit(), hostHardLimits(), detectCgroupVersion()]);
      return { nofileHard, rlimits, cgroupVersion, swapLimit: await swapLimitSupported(cgroupVersion) };
    })();
    this.pending.catch(() => (this.pending = undefined));
    return this.pending;
  }
}
