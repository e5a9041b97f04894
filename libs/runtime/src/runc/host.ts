import { access, readFile } from 'node:fs/promises';
import { NOFILE_HARD } from '../oci-spec';

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
