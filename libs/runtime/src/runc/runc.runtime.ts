import { access, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  NotFoundError,
  UnavailableError,
  type LogLine,
} from '@berth/domain';
import type {
  ContainerInfo,
  ContainerRuntime,
  CreateContainerOptions,
  LogOptions,
  RuntimeCapabilities,
} from '../container-runtime';
import { buildOciSpec, containerHostname, resolveProcessArgs, resolveUser } from '../oci-spec';
import { conmonArgs, parseConmonVersion, spawnConmon } from './conmon';
import { ContainerMetaStore, type ContainerMeta } from './container-meta';
import { hostnameFileContent, hostsFileContent, resolvConfContent } from './etc-files';
import { ExitWatcher, readExitCode } from './exit-watcher';
import { detectCgroupVersion, hostNofileHardLimit } from './host';
import { readK8sLog } from './k8s-log';
import { toLogSelection } from '../shared/log-selection';
import { isMountPoint, mountOverlay, unmountIfMounted } from './overlay';
import { pollUntil } from './poll';
import { execFileRunner, type ProcessRunner } from './process-runner';
import { isProcessAlive, processArgv, readPidFile } from './processes';
import { RuncClient, RuncError, type RuncState } from './runc';
import { parseSignal } from '../shared/signals';
import { checkedId, isValidContainerId } from '../shared/container-id';
import { StateLayout } from './state-layout';

export interface RuncRuntimeOptions {
  /** Everything lives under this directory (see StateLayout). */
  root: string;
  runcPath?: string;
  conmonPath?: string;
  /** Runs runc, conmon --version, mount and umount; tests may swap it. */
  runner?: ProcessRunner;
  /** How long to wait for an exit after SIGKILL, and for conmon to go away (default 10 s). */
  killGraceMs?: number;
}

interface ExitRecord {
  exitCode?: number;
  finishedAt: string;
  oomKilled: boolean;
}

const SIGKILL = 9;

/**
 * Containers run by runc under conmon: conmon owns each container's stdio, log
 * and exit code, so containers outlive the worker, and any RuncRuntime over the
 * same root sees them again. State comes from `runc state` plus conmon's exit file.
 */
export class RuncRuntime implements ContainerRuntime {
  readonly name = 'runc';
  private readonly layout: StateLayout;
  private readonly runc: RuncClient;
  private readonly metas: ContainerMetaStore;
  private readonly runner: ProcessRunner;
  private readonly conmonPath: string;
  private readonly killGraceMs: number;
  private readonly exitWatcher: ExitWatcher;
  private readonly exitListeners = new Set<(info: ContainerInfo) => void>();
  /** The start (startedAt) whose exit was last reported, per container: one report per run. */
  private readonly reportedRuns = new Map<string, string>();
  private readonly removing = new Set<string>();
  private readonly closing = new AbortController();
  private prepared?: Promise<void>;
  private hostFactsPromise?: Promise<{ nofileHard: number; cgroupVersion: 1 | 2 }>;

  constructor(options: RuncRuntimeOptions) {
    this.layout = new StateLayout(options.root);
    this.runner = options.runner ?? execFileRunner;
    this.runc = new RuncClient({ root: this.layout.runcRoot, path: options.runcPath, runner: this.runner });
    this.metas = new ContainerMetaStore(this.layout);
    this.conmonPath = options.conmonPath ?? '/usr/bin/conmon';
    this.killGraceMs = options.killGraceMs ?? 10_000;
    this.exitWatcher = new ExitWatcher(this.layout.exits);
    this.exitWatcher.on((event) => void this.reportExit(event.id));
  }

  capabilities(): RuntimeCapabilities {
    return { logs: true, signals: true, survivesWorkerRestart: true };
  }

  async versions(): Promise<Record<string, string>> {
    const [runc, conmon, cgroupVersion] = await Promise.all([
      this.runc.version(),
      this.runner.run(this.conmonPath, ['--version']).then((r) => parseConmonVersion(r.stdout)),
      detectCgroupVersion(),
    ]);
    return { runc, conmon, cgroupVersion: String(cgroupVersion) };
  }

  async create(options: CreateContainerOptions): Promise<ContainerInfo> {
    const { id, spec, image } = options;
    checkedId(id);
    resolveProcessArgs(spec, image.config); // no command: fail before anything exists on disk
    const stopSignal = parseSignal(image.config.stopSignal || 'SIGTERM').name;
    await this.prepare();
    try {
      await mkdir(this.layout.bundle(id), { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new AlreadyExistsError(`container ${id} already exists`, 'ContainerExists');
      }
      throw err;
    }
    try {
      const meta = await this.writeBundle(options, stopSignal);
      await this.spawnMonitor(id, spec.name);
      return await this.describe(meta, { status: 'created', pid: 0 }, undefined);
    } catch (err) {
      await this.destroy(id).catch(() => undefined);
      throw err;
    }
  }

  async start(id: string): Promise<ContainerInfo> {
    const meta = await this.metas.read(id);
    const state = await this.runcState(id);
    if (state && state.status !== 'created' && state.status !== 'stopped') return this.inspect(id);
    if (state?.status !== 'created') await this.recreate(meta);
    // startedAt first: an instant exit must already be reported as this run's.
    const started: ContainerMeta = { ...meta, startedAt: new Date().toISOString() };
    await this.metas.write(started);
    try {
      await this.runc.start(id);
    } catch (err) {
      await this.metas.write(meta);
      throw asDomainError(err, id);
    }
    // Running as of now (it may already have finished: inspect or wait tell).
    const pid = await readPidFile(this.layout.file(id, 'pidfile'));
    return this.describe(started, { status: 'running', pid: pid ?? 0 }, undefined);
  }

  async kill(id: string, signal: string): Promise<void> {
    const parsed = parseSignal(signal);
    const info = await this.inspect(id);
    if (info.status !== 'running') throw notRunning(id);
    try {
      await this.runc.kill(id, parsed.number);
    } catch (err) {
      throw asDomainError(err, id);
    }
  }

  async stop(id: string, timeoutSec: number): Promise<ContainerInfo> {
    const meta = await this.metas.read(id);
    const info = await this.inspect(id);
    if (info.status !== 'running') return info;
    await this.signalIfRunning(id, parseSignal(meta.stopSignal).number);
    if (!(await this.waitForExitFile(id, Math.max(0, timeoutSec) * 1000))) {
      await this.signalIfRunning(id, SIGKILL);
      if (!(await this.waitForExitFile(id, this.killGraceMs))) {
        throw new UnavailableError(`container ${id} did not exit within ${this.killGraceMs} ms of SIGKILL`, 'StopTimedOut');
      }
    }
    return this.inspect(id);
  }

  async remove(id: string, options: { force?: boolean } = {}): Promise<void> {
    const info = await this.inspect(id);
    if (info.status === 'running') {
      if (!options.force) {
        throw new FailedPreconditionError(`container ${id} is running: stop it first or remove it with force`, 'ContainerRunning');
      }
      this.removing.add(id); // killed on the way out: not an exit to report
      try {
        await this.signalIfRunning(id, SIGKILL);
        await this.waitForExitFile(id, this.killGraceMs);
      } catch (err) {
        this.removing.delete(id);
        throw err;
      }
    }
    await this.destroy(id);
  }

  async inspect(id: string): Promise<ContainerInfo> {
    const meta = await this.metas.read(id);
    // An exit file means this run is over (start removes it before the next): no need to ask runc.
    const exit = await this.readExit(id);
    return this.describe(meta, exit ? undefined : await this.runcState(id), exit);
  }

  async list(): Promise<ContainerInfo[]> {
    await this.prepare();
    const ids = (await readdir(this.layout.containers)).filter(isValidContainerId);
    const states = new Map((await this.runc.list()).map((state) => [state.id, state]));
    const infos = await Promise.all(
      ids.map(async (id) => {
        const meta = await this.metas.read(id).catch((err) => (err instanceof NotFoundError ? undefined : Promise.reject(err)));
        return meta && this.describe(meta, states.get(id), await this.readExit(id));
      }),
    );
    return infos.filter((info): info is ContainerInfo => info !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async wait(id: string, signal?: AbortSignal): Promise<ContainerInfo> {
    this.watchExits();
    const stop = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    // Ends when the container stops running, or on abort: waiting for a container has no deadline of its own.
    for (;;) {
      const info = await this.inspect(id);
      if (info.status !== 'running') return info;
      if (stop.aborted) throw new UnavailableError(`stopped waiting for container ${id}`, 'WaitAborted');
      await this.exitEventOrTimeout(id, 1000, stop);
    }
  }

  async *logs(id: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    await this.metas.read(id);
    const selection = toLogSelection(options);
    const signal = options.signal ? AbortSignal.any([options.signal, this.closing.signal]) : this.closing.signal;
    yield* readK8sLog(this.layout.file(id, 'ctr.log'), { selection, signal, isFinished: () => this.outputFinished(id) });
  }

  onExit(listener: (info: ContainerInfo) => void): () => void {
    this.exitListeners.add(listener);
    this.watchExits();
    return () => this.exitListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.exitWatcher.stop();
    this.exitListeners.clear();
  }

  // -------------------------------------------------------------------------------------------

  private prepare(): Promise<void> {
    this.prepared ??= this.layout.ensure();
    return this.prepared;
  }

  private hostFacts(): Promise<{ nofileHard: number; cgroupVersion: 1 | 2 }> {
    this.hostFactsPromise ??= Promise.all([hostNofileHardLimit(), detectCgroupVersion()]).then(([nofileHard, cgroupVersion]) => ({
      nofileHard,
      cgroupVersion,
    }));
    return this.hostFactsPromise;
  }

  /** rootfs mount, /etc files, config.json and meta.json of a new container. */
  private async writeBundle({ id, spec, image, metadata }: CreateContainerOptions, stopSignal: string): Promise<ContainerMeta> {
    const file = (name: Parameters<StateLayout['file']>[1]) => this.layout.file(id, name);
    await Promise.all([mkdir(file('rootfs')), mkdir(file('upper')), mkdir(file('work'))]);
    await this.mountRootfs(id, image.layerDirs);
    const user = await resolveUser(spec.user || image.config.user, file('rootfs'));
    const hostname = containerHostname(id, spec);
    await Promise.all([
      writeFile(file('hosts'), hostsFileContent(hostname), { mode: 0o644 }),
      writeFile(file('hostname'), hostnameFileContent(hostname), { mode: 0o644 }),
      writeFile(file('resolv.conf'), resolvConfContent(), { mode: 0o644 }),
    ]);
    const { nofileHard, cgroupVersion } = await this.hostFacts();
    const ociSpec = buildOciSpec({
      id,
      spec,
      image: image.config,
      rootfsPath: file('rootfs'),
      user,
      hostNofileHardLimit: nofileHard,
      cgroupsPath: `/berth/${id}`,
      cgroupVersion,
      etcFiles: { hosts: file('hosts'), hostname: file('hostname'), resolvConf: file('resolv.conf') },
    });
    await writeFile(file('config.json'), JSON.stringify(ociSpec, null, 2));
    const meta: ContainerMeta = { id, spec, image, metadata, stopSignal, createdAt: new Date().toISOString() };
    await this.metas.write(meta);
    return meta;
  }

  private mountRootfs(id: string, layers: string[]): Promise<void> {
    return mountOverlay(this.runner, {
      layers,
      upper: this.layout.file(id, 'upper'),
      work: this.layout.file(id, 'work'),
      target: this.layout.file(id, 'rootfs'),
    });
  }

  private async spawnMonitor(id: string, name: string | undefined): Promise<void> {
    const args = conmonArgs({
      id,
      name: name || id,
      runcPath: this.runc.path,
      runcRoot: this.layout.runcRoot,
      bundle: this.layout.bundle(id),
      containerPidFile: this.layout.file(id, 'pidfile'),
      conmonPidFile: this.layout.file(id, 'conmon.pid'),
      logPath: this.layout.file(id, 'ctr.log'),
      exitDir: this.layout.exits,
      socketDir: this.layout.sockets,
    });
    await spawnConmon(this.conmonPath, args, { cwd: this.layout.bundle(id) });
  }

  /** An exited (or never monitored) container back to 'created': same bundle and rootfs, the log appends. */
  private async recreate(meta: ContainerMeta): Promise<void> {
    const { id } = meta;
    await this.waitForMonitorExit(id);
    await this.runc.delete(id, { force: true }).catch(ignoreMissing);
    await Promise.all(
      [this.layout.exitFile(id), this.layout.file(id, 'oom'), this.layout.file(id, 'pidfile')].map((path) => rm(path, { force: true })),
    );
    if (!(await isMountPoint(this.layout.file(id, 'rootfs')))) await this.mountRootfs(id, meta.image.layerDirs);
    await this.spawnMonitor(id, meta.spec.name);
  }

  /** Everything the container owns on the host, best effort and in order: process, monitor, mount, files. */
  private async destroy(id: string): Promise<void> {
    this.removing.add(id);
    try {
      await this.runc.delete(id, { force: true }).catch(ignoreMissing);
      await this.waitForMonitorExit(id);
      await unmountIfMounted(this.runner, this.layout.file(id, 'rootfs'));
      await rm(this.layout.bundle(id), { recursive: true, force: true });
      await rm(this.layout.exitFile(id), { force: true });
      await rm(this.layout.socketLink(id), { recursive: true, force: true });
      this.reportedRuns.delete(id);
    } finally {
      this.removing.delete(id);
    }
  }

  private async runcState(id: string): Promise<RuncState | undefined> {
    try {
      return await this.runc.stateIfExists(id);
    } catch (err) {
      throw asDomainError(err, id);
    }
  }

  private async readExit(id: string): Promise<ExitRecord | undefined> {
    const path = this.layout.exitFile(id);
    try {
      const info = await stat(path);
      const [exitCode, oomKilled] = await Promise.all([readExitCode(path), exists(this.layout.file(id, 'oom'))]);
      return { exitCode, finishedAt: info.mtime.toISOString(), oomKilled };
    } catch {
      return undefined;
    }
  }

  private async describe(
    meta: ContainerMeta,
    state: Pick<RuncState, 'status' | 'pid'> | undefined,
    exit: ExitRecord | undefined,
  ): Promise<ContainerInfo> {
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
      case 'paused':
        return { ...base, status: 'running', ...(state.pid > 0 ? { pid: state.pid } : {}) };
    }
    // Stopped, or unknown to runc. Ask about conmon first, then look for the exit file again: it
    // may have been written since it was first read, and conmon writes it before it leaves.
    const draining = state?.status === 'stopped' && (await this.monitorAlive(meta.id));
    const late = await this.readExit(meta.id);
    if (late) return exited(late);
    // The process is gone but conmon is still writing its last output: not over until the exit file says so.
    if (draining) return { ...base, status: 'running' };
    // No runc state and no exit file (a host reboot, or never started): 'start' sets it up again.
    return meta.startedAt ? { ...base, status: 'exited' } : { ...base, status: 'created' };
  }

  private async signalIfRunning(id: string, signal: number): Promise<void> {
    try {
      await this.runc.kill(id, signal);
    } catch (err) {
      const mapped = asDomainError(err, id);
      if (!(mapped instanceof FailedPreconditionError)) throw mapped;
    }
  }

  private async waitForExitFile(id: string, timeoutMs: number): Promise<boolean> {
    this.watchExits();
    const deadline = Date.now() + timeoutMs;
    for (let round = 0; round < 10_000; round++) {
      if (await exists(this.layout.exitFile(id))) return true;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      await this.exitEventOrTimeout(id, Math.min(remaining, 200), this.closing.signal);
    }
    return false;
  }

  /** Resolves on the next exit-file event for the container, after `ms`, or on abort. */
  private exitEventOrTimeout(id: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const unsubscribe = this.exitWatcher.on((event) => event.id === id && done());
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private watchExits(): void {
    if (this.closing.signal.aborted) return;
    this.prepare()
      .then(() => this.exitWatcher.start())
      .catch(() => undefined); // without a watcher the waits still poll
  }

  private async reportExit(id: string): Promise<void> {
    if (!isValidContainerId(id) || this.removing.has(id)) return;
    const info = await this.inspect(id).catch(() => undefined);
    if (!info || info.status !== 'exited' || this.removing.has(id)) return;
    const run = info.startedAt ?? info.createdAt;
    if (this.reportedRuns.get(id) === run) return;
    this.reportedRuns.set(id, run);
    for (const listener of [...this.exitListeners]) {
      try {
        listener(info);
      } catch {
        // One listener's failure must not keep the others from hearing of the exit.
      }
    }
  }

  /** For log follow: nothing more will be written once the exit file exists or the monitor is gone. */
  private async outputFinished(id: string): Promise<boolean> {
    if (this.closing.signal.aborted || (await exists(this.layout.exitFile(id)))) return true;
    if (!(await this.metas.exists(id))) return true;
    return !(await this.monitorAlive(id));
  }

  private async monitorPid(id: string): Promise<number | undefined> {
    const pid = await readPidFile(this.layout.file(id, 'conmon.pid'));
    if (!pid || !(await isProcessAlive(pid))) return undefined;
    const argv = await processArgv(pid);
    return argv?.includes(id) && argv[0]?.endsWith('conmon') ? pid : undefined;
  }

  private async monitorAlive(id: string): Promise<boolean> {
    return (await this.monitorPid(id)) !== undefined;
  }

  /** conmon leaves once the container is gone and the exit file written; a stuck one is killed. */
  private async waitForMonitorExit(id: string): Promise<void> {
    const gone = async () => (await this.monitorPid(id)) === undefined;
    if (await pollUntil(gone, { timeoutMs: this.killGraceMs, intervalMs: 20 })) return;
    const pid = await this.monitorPid(id);
    if (pid) process.kill(pid, 'SIGKILL');
    await pollUntil(gone, { timeoutMs: 2000, intervalMs: 20 });
  }
}

function asDomainError(err: unknown, id: string): unknown {
  return err instanceof RuncError ? err.toDomainError(id) : err;
}

function ignoreMissing(err: unknown): void {
  if (!(err instanceof RuncError && err.containerMissing)) throw err;
}

function notRunning(id: string): FailedPreconditionError {
  return new FailedPreconditionError(`container ${id} is not running`, 'ContainerNotRunning');
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
