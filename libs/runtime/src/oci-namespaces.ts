/** Isolation as Docker sets it up: the namespaces, and the paths masked or made read-only (unless privileged). */

export const DEFAULT_MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
] as const;

export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

/** Fresh namespaces as Docker makes them; the network one joined at `network` (a path), or the host's (`host`). */
export function namespaces(cgroupVersion: 1 | 2 | undefined, network?: string): { type: string; path?: string }[] {
  const list: { type: string; path?: string }[] = ['pid', 'ipc', 'uts', 'mount'].map((type) => ({ type }));
  if (network !== 'host') list.push(network ? { type: 'network', path: network } : { type: 'network' });
  return cgroupVersion === 2 ? [...list, { type: 'cgroup' }] : list;
}
