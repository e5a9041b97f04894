import type { ContainerStats } from './protocol';

/**
 * CPU percent between two samples, as `docker stats` computes it: the container's
 * CPU time over the host's (all CPUs), times the CPUs. Undefined when it cannot be
 * computed (no host counter, or a counter went backwards).
 */
export function cpuPercent(before: ContainerStats, after: ContainerStats): number | undefined {
  const cpuDelta = after.cpu.usageNanos - before.cpu.usageNanos;
  const systemDelta = (after.cpu.systemNanos ?? 0) - (before.cpu.systemNanos ?? 0);
  return systemDelta > 0 && cpuDelta >= 0 ? (cpuDelta / systemDelta) * after.cpu.onlineCpus * 100 : undefined;
}

/** The later sample, with the percent since the earlier one. */
export function withCpuPercent(before: ContainerStats, after: ContainerStats): ContainerStats {
  return { ...after, cpu: { ...after.cpu, percent: cpuPercent(before, after) } };
}
