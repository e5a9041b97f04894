import { withCpuPercent } from './container-stats';
import type { ContainerStats } from './protocol';

const sample = (usageNanos: number, systemNanos?: number): ContainerStats => ({
  read: '2026-11-23T00:00:00Z',
  cpu: { usageNanos, systemNanos, onlineCpus: 2 },
  memory: { usageBytes: 1 },
  pids: { current: 1 },
  blockIo: { readBytes: 0, writeBytes: 0 },
});

describe('CPU percent between samples', () => {
  it('is container time over host time, times the online CPUs', () => {
    // Host time counts every CPU: 2 CPUs × 1 s = 2e9 ns; the container used 0.5 s.
    expect(withCpuPercent(sample(1e9, 10e9), sample(1.5e9, 12e9)).cpu.percent).toBeCloseTo(50);
  });

  it('is absent when it cannot be computed', () => {
    expect(withCpuPercent(sample(1e9), sample(2e9)).cpu.percent).toBeUndefined();
    expect(withCpuPercent(sample(2e9, 10e9), sample(1e9, 12e9)).cpu.percent).toBeUndefined();
  });
});
