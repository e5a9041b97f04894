import type { ContainerStats } from '@berth/domain';

/** CPU percent between two samples, as `docker stats` computes it: container time over host time, times the CPUs. */
export function withCpuPercent(before: ContainerStats, after: ContainerStats): ContainerStats {
  const cpuDelta = after.cpu.usageNanos - before.cpu.usageNanos;
  const systemDelta = (after.cpu.systemNanos ?? 0) - (before.cpu.systemNanos ?? 0);
  const percent = systemDelta > 0 && cpuDelta >= 0 ? (cpuDelta / systemDelta) * after.cpu.onlineCpus * 100 : undefined;
  return { ...after, cpu: { ...after.cpu, percent } };
}
