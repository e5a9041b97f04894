import { readdir, stat } from 'node:fs/promises';
import { FailedPreconditionError, NotFoundError } from '@berth/domain';
import type { ContainerInfo } from '../container-runtime';
import { isValidContainerId } from '../shared/container-id';
import { pathExists } from '../shared/path-exists';
import { cgroupPath, ContainerCgroup } from './cgroups';
import type { ConmonMonitor } from './conmon-monitor';
import type { ContainerMeta, ContainerMetaStore } from './container-meta';
import { readExitCode } from './exit-watcher';
import type { HostFactsCache } from './host';
import { asDomainError, type RuncClient, type RuncState } from './runc';
import type { StateLayout } from './state-layout';

/** How a run ended, from conmon's exit file. */
export interface ExitRecord {
  exitCode?: number;
  finishedAt: string;
  oomKilled: boolean;
}

/** Running or paused: a process exists. */
export function isLive(info: ContainerInfo): boolean {
  return info.status === 'running' || info.status === 'paused';
}

export function notRunning(id: string): FailedPreconditionError {
  return new FailedPreconditionError(`container ${id} is not running`, 'ContainerNotRunning');
}

/** What containers are now: meta.json, `runc state` and conmon's exit file, told as ContainerInfo. */
export class ContainerStatusReader {
  constructor(
    private readonly layout: StateLayout,
    private readonly runc: RuncClient,
    private readonly metas: ContainerMetaStore,
    private readonly monitor: ConmonMonitor,
    private readonly hostFacts: HostFactsCache,
    private readonly prepare: () => Promise<void>,
  ) {}

  async inspect(id: string): Promise<ContainerInfo> {
    const meta = await this.metas.read(id);
    // An exit file means this run is over (start removes it before the next): no need to ask runc.
    const exit = await this.readExit(id, meta);
    return this.describe(meta, exit ? undefined : await this.runcState(id), exit);
  }

  async list(): Promise<ContainerInfo[]> {
    await this.prepare();
    const ids = (await readdir(this.layout.containers)).filter(isValidContainerId);
    const states = new Map((await this.runc.list()).map((state) => [state.id, state]));
    const infos = await Promise.all(
      ids.map(async (id) => {
        const meta = await this.metas.read(id).catch((err) => (err instanceof NotFoundError ? undefined : Promise.reject(err)));
        return meta && this.describe(meta, states.get(id), await this.readExit(id, meta));
      }),
    );
    return infos.filter((info): info is ContainerInfo => info !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async runcState(id: string): Promise<RuncState | undefined> {
    try {
      return await this.runc.stateIfExists(id);
    } catch (err) {
      throw asDomainError(err, id);
    }
  }

  async describe(meta: ContainerMeta, state: Pick<RuncState, 'status' | 'pid'> | undefined, exit: ExitRecord | undefined): Promise<ContainerInfo> {
    const base = {
      id: meta.id,
      createdAt: meta.createdAt,
      ...(meta.startedAt ? { startedAt: meta.startedAt } : {}),
      metadata: meta.metadata,
    };
    const exited = (record: ExitRecord): ContainerInfo => ({
      ...base,
      status: 'exited',
      ...(record.exitCode !== undefined ? { exitCode: record.exitCode } : {}),
      oomKilled: record.oomKilled,
      finishedAt: record.finishedAt,
    });
    if (exit) return exited(exit);
    switch (state?.status) {
      case 'created':
        return { ...base, status: 'created' };
      case 'creating':
      case 'running':
        return { ...base, status: 'running', ...(state.pid > 0 ? { pid: state.pid } : {}) };
      case 'paused':
        return { ...base, status: 'paused', ...(state.pid > 0 ? { pid: state.pid } : {}) };
    }
    // Stopped, or unknown to runc. Ask about conmon first, then look for the exit file again: it
    // may have been written since it was first read, and conmon writes it before it leaves.
    const draining = state?.status === 'stopped' && (await this.monitor.alive(meta.id));
    const late = await this.readExit(meta.id);
    if (late) return exited(late);
    // The process is gone but conmon is still writing its last output: not over until the exit file says so.
    if (draining) return { ...base, status: 'running' };
    // No runc state and no exit file (a host reboot, or never started): 'start' sets it up again.
    return meta.startedAt ? { ...base, status: 'exited' } : { ...base, status: 'created' };
  }

  private async readExit(id: string, meta?: ContainerMeta): Promise<ExitRecord | undefined> {
    const path = this.layout.exitFile(id);
    let finishedAt: string;
    try {
      finishedAt = (await stat(path)).mtime.toISOString();
    } catch {
      return undefined;
    }
    const [exitCode, oomKilled] = await Promise.all([readExitCode(path), this.oomKilled(id, meta)]);
    return { exitCode, finishedAt, oomKilled };
  }

  /**
   * conmon's `oom` file, else the verdict recorded in meta.json for this run, else
   * the cgroup's oom_kill counter (recorded, as the cgroup goes with the next start or remove).
   */
  private async oomKilled(id: string, known?: ContainerMeta): Promise<boolean> {
    if (await pathExists(this.layout.file(id, 'oom'))) return true;
    const meta = known ?? (await this.metas.read(id).catch(() => undefined));
    if (!meta) return false;
    const run = meta.startedAt ?? meta.createdAt;
    if (meta.oomKilledRun === run) return true;
    const { cgroupVersion } = await this.hostFacts.get();
    const kills = await new ContainerCgroup(cgroupVersion, cgroupPath(id)).oomKillCount();
    if (!kills) return false;
    const latest = await this.metas.read(id).catch(() => undefined);
    if (latest && (latest.startedAt ?? latest.createdAt) === run) await this.metas.write({ ...latest, oomKilledRun: run });
    return true;
  }
}
