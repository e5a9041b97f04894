import { cpus } from 'node:os';
import type { ContainerProcess, ContainerStats, LogLine } from '@berth/domain';
import type { LogOptions } from '../container-runtime';
import { readUserDatabase } from '../oci-user';
import { toLogSelection } from '../shared/log-selection';
import { pathExists } from '../shared/path-exists';
import { cgroupPath, ContainerCgroup } from './cgroups';
import type { ConmonMonitor } from './conmon-monitor';
import type { ContainerMetaStore } from './container-meta';
import { isLive, notRunning, type ContainerStatusReader } from './container-status';
import type { HostFactsCache } from './host';
import { readK8sLog } from './k8s-log';
import { hostSystemNanos, readNetDev, readProcProcess, userNames } from './proc-readers';
import type { StateLayout } from './state-layout';

export interface ContainerObserverParts {
  layout: StateLayout;
  metas: ContainerMetaStore;
  status: ContainerStatusReader;
  monitor: ConmonMonitor;
  hostFacts: HostFactsCache;
  /** Aborted when the runtime closes: log follows end. */
  closing: AbortSignal;
}

/** What a container shows from outside: its log, its resource use and its processes. */
export class ContainerObserver {
  constructor(private readonly parts: ContainerObserverParts) {}

  async *logs(id: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    const { layout, metas, closing } = this.parts;
    await metas.read(id);
    const selection = toLogSelection(options);
    const signal = options.signal ? AbortSignal.any([options.signal, closing]) : closing;
    yield* readK8sLog(layout.file(id, 'ctr.log'), { selection, signal, isFinished: () => this.outputFinished(id) });
  }

  async stats(id: string): Promise<ContainerStats> {
    const info = await this.parts.status.inspect(id);
    const live = isLive(info) || info.status === 'created';
    const { cgroupVersion } = await this.parts.hostFacts.get();
    const sample = live ? await new ContainerCgroup(cgroupVersion, cgroupPath(id)).sample() : undefined;
    const systemNanos = await hostSystemNanos();
    const onlineCpus = Math.max(1, cpus().length);
    const usageNanos = sample?.cpuUsageNanos ?? 0;
    const network = info.pid && isLive(info) ? await readNetDev(info.pid) : undefined;
    return {
      read: new Date().toISOString(),
      cpu: { usageNanos, ...(systemNanos !== undefined ? { systemNanos } : {}), onlineCpus },
      memory: {
        usageBytes: sample?.memoryUsageBytes ?? 0,
        ...(sample?.memoryLimitBytes !== undefined ? { limitBytes: sample.memoryLimitBytes } : {}),
        ...(sample?.memoryCacheBytes !== undefined ? { cacheBytes: sample.memoryCacheBytes } : {}),
      },
      pids: { current: sample?.pidsCurrent ?? 0, ...(sample?.pidsLimit !== undefined ? { limit: sample.pidsLimit } : {}) },
      blockIo: { readBytes: sample?.blockReadBytes ?? 0, writeBytes: sample?.blockWriteBytes ?? 0 },
      ...(network ? { network } : {}),
    };
  }

  /** The container's processes (host pids) from its cgroup, users named from the container's /etc/passwd. */
  async top(id: string): Promise<ContainerProcess[]> {
    const info = await this.parts.status.inspect(id);
    if (!isLive(info)) throw notRunning(id);
    const { cgroupVersion } = await this.parts.hostFacts.get();
    const pids = await new ContainerCgroup(cgroupVersion, cgroupPath(id)).pids();
    const names = userNames((await readUserDatabase(this.parts.layout.file(id, 'rootfs')).catch(() => ({ passwd: undefined }))).passwd);
    const processes = await Promise.all(pids.slice(0, 10_000).map((pid) => readProcProcess(pid)));
    return processes
      .filter((p): p is NonNullable<typeof p> => p !== undefined)
      .sort((a, b) => a.pid - b.pid)
      .map((p) => ({
        pid: p.pid,
        ppid: p.ppid,
        user: names.get(p.uid) ?? String(p.uid),
        state: p.state,
        command: p.comm,
        args: p.args.length ? p.args : [`[${p.comm}]`],
      }));
  }

  /** For log follow: nothing more will be written once the exit file exists or the monitor is gone. */
  private async outputFinished(id: string): Promise<boolean> {
    const { layout, metas, monitor, closing } = this.parts;
    if (closing.aborted || (await pathExists(layout.exitFile(id)))) return true;
    if (!(await metas.exists(id))) return true;
    return !(await monitor.alive(id));
  }
}
