import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Reads a container's cgroup (cgroupfs driver, `linux.cgroupsPath` like
 * `/berth/<id>`) on cgroup v1 (one hierarchy per controller) and v2 (unified).
 */

/** The cgroup runc puts a container in (its `linux.cgroupsPath`). */
export function cgroupPath(id: string): string {
  return `/berth/${id}`;
}

export interface CgroupSample {
  cpuUsageNanos: number;
  memoryUsageBytes: number;
  memoryLimitBytes?: number;
  memoryCacheBytes?: number;
  pidsCurrent: number;
  pidsLimit?: number;
  blockReadBytes: number;
  blockWriteBytes: number;
}

/** v1 writes "no limit" as a page-rounded 2^63-1; anything this large is unlimited. */
const V1_UNLIMITED = 2 ** 60;

export class ContainerCgroup {
  constructor(
    readonly version: 1 | 2,
    /** `/berth/<id>` */
    readonly path: string,
    readonly mountRoot = '/sys/fs/cgroup',
  ) {}

  /** The directory of a controller (v1) or the unified directory (v2). */
  dir(controller: 'memory' | 'cpu' | 'cpuacct' | 'pids' | 'blkio' | 'freezer'): string {
    return this.version === 2 ? join(this.mountRoot, this.path) : join(this.mountRoot, controller, this.path);
  }

  async exists(): Promise<boolean> {
    return access(this.dir('pids')).then(
      () => true,
      () =>
        access(this.dir('memory')).then(
          () => true,
          () => false,
        ),
    );
  }

  /** The thread-group ids (processes) in the cgroup. */
  async pids(): Promise<number[]> {
    for (const controller of ['pids', 'memory', 'freezer'] as const) {
      const text = await this.read(controller, 'cgroup.procs');
      if (text !== undefined) return parseIdList(text);
    }
    return [];
  }

  async sample(): Promise<CgroupSample> {
    return this.version === 2 ? this.sampleV2() : this.sampleV1();
  }

  /** How often the OOM killer killed in this cgroup (v1 memory.oom_control, v2 memory.events); undefined when unreadable. */
  async oomKillCount(): Promise<number | undefined> {
    const text = this.version === 2 ? await this.read('memory', 'memory.events') : await this.read('memory', 'memory.oom_control');
    if (text === undefined) return undefined;
    return parseKeyValues(text).get('oom_kill');
  }

  /** The limits as the kernel holds them (for checks and tests). */
  async limits(): Promise<{ memoryBytes?: number; pids?: number; cpuQuotaUs?: number; cpuPeriodUs?: number }> {
    if (this.version === 2) {
      const [memory, pids, cpu] = await Promise.all([this.read('memory', 'memory.max'), this.read('pids', 'pids.max'), this.read('cpu', 'cpu.max')]);
      const [quota, period] = (cpu ?? '').trim().split(/\s+/);
      return {
        memoryBytes: limitValue(memory),
        pids: limitValue(pids),
        cpuQuotaUs: limitValue(quota),
        cpuPeriodUs: limitValue(period),
      };
    }
    const [memory, pids, quota, period] = await Promise.all([
      this.read('memory', 'memory.limit_in_bytes'),
      this.read('pids', 'pids.max'),
      this.read('cpu', 'cpu.cfs_quota_us'),
      this.read('cpu', 'cpu.cfs_period_us'),
    ]);
    const quotaValue = limitValue(quota);
    return {
      memoryBytes: limitValue(memory),
      pids: limitValue(pids),
      cpuQuotaUs: quotaValue !== undefined && quotaValue > 0 ? quotaValue : undefined,
      cpuPeriodUs: limitValue(period),
    };
  }

  private async sampleV1(): Promise<CgroupSample> {
    const [usage, memUsage, memLimit, memStat, pidsCurrent, pidsMax, blkio] = await Promise.all([
      this.read('cpuacct', 'cpuacct.usage'),
      this.read('memory', 'memory.usage_in_bytes'),
      this.read('memory', 'memory.limit_in_bytes'),
      this.read('memory', 'memory.stat'),
      this.read('pids', 'pids.current'),
      this.read('pids', 'pids.max'),
      this.firstReadable('blkio', ['blkio.throttle.io_service_bytes_recursive', 'blkio.throttle.io_service_bytes', 'blkio.io_service_bytes_recursive']),
    ]);
    const stat = parseKeyValues(memStat ?? '');
    const inactiveFile = stat.get('total_inactive_file') ?? stat.get('inactive_file') ?? 0;
    const used = numberOr(memUsage, 0);
    const io = parseBlkioV1(blkio ?? '');
    return {
      cpuUsageNanos: numberOr(usage, 0),
      memoryUsageBytes: Math.max(0, used - inactiveFile),
      ...optional('memoryLimitBytes', limitValue(memLimit)),
      ...optional('memoryCacheBytes', stat.get('total_cache') ?? stat.get('cache')),
      pidsCurrent: numberOr(pidsCurrent, 0),
      ...optional('pidsLimit', limitValue(pidsMax)),
      blockReadBytes: io.read,
      blockWriteBytes: io.write,
    };
  }

  private async sampleV2(): Promise<CgroupSample> {
    const [cpuStat, current, max, memStat, pidsCurrent, pidsMax, ioStat] = await Promise.all([
      this.read('cpu', 'cpu.stat'),
      this.read('memory', 'memory.current'),
      this.read('memory', 'memory.max'),
      this.read('memory', 'memory.stat'),
      this.read('pids', 'pids.current'),
      this.read('pids', 'pids.max'),
      this.read('blkio', 'io.stat'),
    ]);
    const stat = parseKeyValues(memStat ?? '');
    const io = parseIoStatV2(ioStat ?? '');
    return {
      cpuUsageNanos: (parseKeyValues(cpuStat ?? '').get('usage_usec') ?? 0) * 1000,
      memoryUsageBytes: Math.max(0, numberOr(current, 0) - (stat.get('inactive_file') ?? 0)),
      ...optional('memoryLimitBytes', limitValue(max)),
      ...optional('memoryCacheBytes', stat.get('file')),
      pidsCurrent: numberOr(pidsCurrent, 0),
      ...optional('pidsLimit', limitValue(pidsMax)),
      blockReadBytes: io.read,
      blockWriteBytes: io.write,
    };
  }

  private async firstReadable(controller: 'blkio', files: string[]): Promise<string | undefined> {
    for (const file of files) {
      const text = await this.read(controller, file);
      if (text !== undefined && text.trim() !== '') return text;
    }
    return undefined;
  }

  private async read(controller: Parameters<ContainerCgroup['dir']>[0], file: string): Promise<string | undefined> {
    return readFile(join(this.dir(controller), file), 'utf8').catch(() => undefined);
  }
}

/** `max`, a v1 "unlimited" value, or nothing → undefined; else the number. */
export function limitValue(text: string | undefined): number | undefined {
  const trimmed = text?.trim();
  if (!trimmed || trimmed === 'max') return undefined;
  const value = Number(trimmed);
  if (!Number.isFinite(value) || value < 0 || value >= V1_UNLIMITED) return undefined;
  return value;
}

/** `key value` lines (memory.stat, memory.oom_control, memory.events, cpu.stat). */
export function parseKeyValues(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) values.set(key, Number(value));
  }
  return values;
}

/** v1 `8:0 Read 4096` lines, summed over devices (the Total line skipped). */
export function parseBlkioV1(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    const [device, op, value] = line.trim().split(/\s+/);
    if (!device?.includes(':') || value === undefined) continue;
    if (op === 'Read') read += Number(value) || 0;
    else if (op === 'Write') write += Number(value) || 0;
  }
  return { read, write };
}

/** v2 `8:0 rbytes=4096 wbytes=0 rios=1 …` lines, summed over devices. */
export function parseIoStatV2(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    for (const field of line.trim().split(/\s+/).slice(1)) {
      const [key, value] = field.split('=');
      if (key === 'rbytes') read += Number(value) || 0;
      else if (key === 'wbytes') write += Number(value) || 0;
    }
  }
  return { read, write };
}

function parseIdList(text: string): number[] {
  return text
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

function numberOr(text: string | undefined, fallback: number): number {
  const value = Number(text?.trim());
  return text !== undefined && text.trim() !== '' && Number.isFinite(value) ? value : fallback;
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}
