import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { arch, cpus, release } from 'node:os';
import { join } from 'node:path';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  type ContainerProcess,
  type ContainerResources,
  type ContainerSpec,
  type ContainerStats,
  type ExecParams,
  type ExecResult,
  type LogLine,
} from '@berth/domain';
import type {
  ContainerInfo,
  ContainerRuntime,
  CreateContainerOptions,
  HostMount,
  LogOptions,
  RuntimeCapabilities,
  TtyExecParams,
  TtySession,
} from '../container-runtime';
import { buildExecProcess, buildOciSpec, checkSpecForHost, containerHostname, readUserDatabase, resolveUser, type OciSpec } from '../oci-spec';
import { cgroupResources, mergeResourceUpdate, type HostRlimits } from '../oci-resources';
import { DEFAULT_SECCOMP_PROFILE_PATH, loadDockerSeccompProfile, type DockerSeccompProfile } from '../seccomp';
import { ContainerCgroup } from './cgroups';
import { runRuncExec } from './exec-process';
import { spawnTtyExec } from './tty-exec';
import { hostSystemNanos, readNetDev, readProcProcess, userNames } from './proc-readers';
import { conmonArgs, parseConmonVersion, spawnConmon } from './conmon';
import { ContainerMetaStore, type ContainerMeta } from './container-meta';
import { hostnameFileContent, parseResolvConf, resolvConfContent } from './etc-files';
import { createHostsFile, writeHostsFileInPlace } from '../network/hosts-file';
import { ExitWatcher, readExitCode } from './exit-watcher';
import { detectCgroupVersion, hostHardLimits, hostNofileHardLimit, swapLimitSupported } from './host';
import { readK8sLog } from './k8s-log';
import { toLogSelection } from '../shared/log-selection';
import { isMountPoint, mountOverlay, unmountIfMounted } from './overlay';
import { pollUntil } from '../shared/poll';
import { execFileRunner, type ProcessRunner } from '../shared/process-runner';
import { isProcessAlive, processArgv, readPidFile } from './processes';
import { RuncClient, RuncError, type RuncState } from './runc';
import { parseSignal } from '../shared/signals';
import { checkedId, isValidContainerId } from '../shared/container-id';
import { StateLayout } from './state-layout';
import { copyUp } from './volume-copy-up';

export interface RuncRuntimeOptions {
  /** Everything lives under this directory (see StateLayout). */
  root: string;
  runcPath?: string;
  conmonPath?: string;
  /** Runs runc, conmon --version, mount and umount; tests may swap it. */
  runner?: ProcessRunner;
  /** How long to wait for an exit after SIGKILL, and for conmon to go away (default 10 s). */
  killGraceMs?: number;
  /** Docker's seccomp profile (default /usr/share/berth/seccomp/default.json); create fails when it is missing. */
  seccompProfilePath?: string;
  /** The host's resolver configuration (default /etc/resolv.conf), and the upstream one behind a local stub (systemd-resolved's). */
  resolvConfPaths?: { host: string; upstream: string };
}

interface HostFacts {
  nofileHard: number;
  rlimits: HostRlimits;
  cgroupVersion: 1 | 2;
  swapLimit: boolean;
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
  private readonly seccompProfilePath: string;
  private readonly resolvConfPaths: { host: string; upstream: string };
  private prepared?: Promise<void>;
  private hostFactsPromise?: Promise<HostFacts>;
  /** Copy-ups run one at a time: of two containers created on one new volume, only the first fills it. */
  private copyUps: Promise<unknown> = Promise.resolve();

  constructor(options: RuncRuntimeOptions) {
    this.layout = new StateLayout(options.root);
    this.runner = options.runner ?? execFileRunner;
    this.runc = new RuncClient({ root: this.layout.runcRoot, path: options.runcPath, runner: this.runner });
    this.metas = new ContainerMetaStore(this.layout);
    this.conmonPath = options.conmonPath ?? '/usr/bin/conmon';
    this.killGraceMs = options.killGraceMs ?? 10_000;
    this.seccompProfilePath = options.seccompProfilePath ?? DEFAULT_SECCOMP_PROFILE_PATH;
    this.resolvConfPaths = options.resolvConfPaths ?? { host: '/etc/resolv.conf', upstream: '/run/systemd/resolve/resolv.conf' };
    this.exitWatcher = new ExitWatcher(this.layout.exits);
    this.exitWatcher.on((event) => void this.reportExit(event.id));
  }

  capabilities(): RuntimeCapabilities {
    return { logs: true, signals: true, exec: true, tty: true, stats: true, pause: true, survivesWorkerRestart: true };
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
    const stopSignal = parseSignal(image.config.stopSignal || 'SIGTERM').name;
    // A bad spec, a limit the host cannot give, or no seccomp profile: fail before anything exists on disk.
    const facts = await this.hostFacts();
    checkSpecForHost(spec, image.config, { hostNofileHardLimit: facts.nofileHard, hostRlimits: facts.rlimits });
    const seccompProfile = await this.seccompProfileFor(spec);
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
      const meta = await this.writeBundle(options, stopSignal, seccompProfile);
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
    const meta = await this.metas.read(id);
    const info = await this.inspect(id);
    if (!isLive(info)) throw notRunning(id);
    try {
      await this.runc.kill(id, parsed.number);
    } catch (err) {
      throw asDomainError(err, id);
    }
    // As Docker: SIGKILL or the stop signal to a paused container thaws it, so the signal lands.
    if (info.status === 'paused' && (parsed.number === SIGKILL || parsed.name === meta.stopSignal)) await this.thawIfPaused(id);
  }

  async stop(id: string, timeoutSec: number): Promise<ContainerInfo> {
    const meta = await this.metas.read(id);
    const info = await this.inspect(id);
    if (!isLive(info)) return info;
    await this.signalIfRunning(id, parseSignal(meta.stopSignal).number);
    if (info.status === 'paused') await this.thawIfPaused(id); // as Docker: the stop signal lands once thawed
    if (!(await this.waitForExitFile(id, Math.max(0, timeoutSec) * 1000))) {
      await this.signalIfRunning(id, SIGKILL);
      await this.thawIfPaused(id);
      if (!(await this.waitForExitFile(id, this.killGraceMs))) {
        throw new UnavailableError(`container ${id} did not exit within ${this.killGraceMs} ms of SIGKILL`, 'StopTimedOut');
      }
    }
    return this.inspect(id);
  }

  async remove(id: string, options: { force?: boolean } = {}): Promise<void> {
    const info = await this.inspect(id);
    if (isLive(info)) {
      if (!options.force) {
        throw new FailedPreconditionError(`container ${id} is running: stop it first or remove it with force`, 'ContainerRunning');
      }
      this.removing.add(id); // killed on the way out: not an exit to report
      try {
        await this.signalIfRunning(id, SIGKILL);
        if (info.status === 'paused') await this.thawIfPaused(id);
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
    const exit = await this.readExit(id, meta);
    return this.describe(meta, exit ? undefined : await this.runcState(id), exit);
  }

  async setHosts(id: string, content: string): Promise<void> {
    await writeHostsFileInPlace(this.layout.file(checkedId(id), 'hosts'), content);
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

  async wait(id: string, signal?: AbortSignal): Promise<ContainerInfo> {
    this.watchExits();
    const stop = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    // Ends when the container stops running, or on abort: waiting for a container has no deadline of its own.
    for (;;) {
      const info = await this.inspect(id);
      if (!isLive(info)) return info;
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

  /**
   * `runc exec --process` with a process built like the container's. A command that
   * cannot be started (missing, not executable) is an InvalidArgument `CommandNotRunnable`,
   * as at create; a timeout SIGKILLs the process and reports exit code 137.
   */
  async exec(id: string, params: ExecParams): Promise<ExecResult> {
    const timeoutSec = params.timeoutSec;
    if (typeof timeoutSec !== 'number' || !Number.isFinite(timeoutSec) || timeoutSec <= 0) {
      throw new InvalidArgumentError('timeoutSec must be a positive number', [{ field: 'timeoutSec', message: 'must be positive' }]);
    }
    const files = await this.prepareExec(id, params, false);
    try {
      const outcome = await runRuncExec({ runcPath: this.runc.path, runcRoot: this.layout.runcRoot, id, ...files, timeoutMs: timeoutSec * 1000 });
      if (outcome.runcError !== undefined) throw execFailure(id, outcome.runcError);
      return { exitCode: outcome.exitCode, stdout: outcome.stdout, stderr: outcome.stderr, truncated: outcome.truncated };
    } finally {
      await removeFiles(files);
    }
  }

  async execTty(id: string, params: TtyExecParams): Promise<TtySession> {
    const files = await this.prepareExec(id, params, true, { width: params.cols, height: params.rows });
    const session = spawnTtyExec({
      runcPath: this.runc.path,
      runcRoot: this.layout.runcRoot,
      id,
      processFile: files.processFile,
      cols: params.cols,
      rows: params.rows,
    });
    void session.exited.finally(() => removeFiles(files));
    return session;
  }

  /** Checks the container runs and writes the exec'd process's spec (the container's, with the caller's changes). */
  private async prepareExec(id: string, params: Omit<ExecParams, 'timeoutSec'>, terminal: boolean, consoleSize?: { width: number; height: number }) {
    await this.metas.read(id);
    const info = await this.inspect(id);
    if (info.status === 'paused') throw new FailedPreconditionError(`container ${id} is paused: unpause it first`, 'ContainerPaused');
    if (info.status !== 'running') throw notRunning(id);
    const config = JSON.parse(await readFile(this.layout.file(id, 'config.json'), 'utf8')) as OciSpec;
    const user = params.user ? await resolveUser(params.user, this.layout.file(id, 'rootfs')) : undefined;
    const processSpec = { ...buildExecProcess(config.process, params, user), terminal, ...(consoleSize ? { consoleSize } : {}) };
    const dir = this.layout.file(id, 'exec');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const base = join(dir, randomBytes(8).toString('hex'));
    const files = { processFile: `${base}.json`, pidFile: `${base}.pid`, logFile: `${base}.log` };
    await writeFile(files.processFile, JSON.stringify(processSpec), { mode: 0o600 });
    return files;
  }

  async stats(id: string): Promise<ContainerStats> {
    const info = await this.inspect(id);
    const live = isLive(info) || info.status === 'created';
    const { cgroupVersion } = await this.hostFacts();
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
    const info = await this.inspect(id);
    if (!isLive(info)) throw notRunning(id);
    const { cgroupVersion } = await this.hostFacts();
    const pids = await new ContainerCgroup(cgroupVersion, cgroupPath(id)).pids();
    const names = userNames((await readUserDatabase(this.layout.file(id, 'rootfs')).catch(() => ({ passwd: undefined }))).passwd);
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

  async pause(id: string): Promise<ContainerInfo> {
    const info = await this.inspect(id);
    if (info.status === 'paused') return info;
    if (info.status !== 'running') throw notRunning(id);
    try {
      await this.runc.pause(id);
    } catch (err) {
      throw asDomainError(err, id);
    }
    return this.inspect(id);
  }

  async unpause(id: string): Promise<ContainerInfo> {
    const info = await this.inspect(id);
    if (info.status === 'running') return info;
    if (info.status !== 'paused') throw notRunning(id);
    try {
      await this.runc.resume(id);
    } catch (err) {
      throw asDomainError(err, id);
    }
    return this.inspect(id);
  }

  /**
   * New cgroup limits through `runc update` when runc holds the container, and in
   * config.json and meta.json so the next start keeps them. Ulimits and the /dev/shm
   * size cannot change in place.
   */
  async update(id: string, resources: ContainerResources): Promise<void> {
    const meta = await this.metas.read(id);
    const merged = mergeResourceUpdate(meta.spec.resources, resources);
    const { swapLimit } = await this.hostFacts();
    const cgroup = cgroupResources(merged, { swapLimit });
    const state = await this.runcState(id);
    if (state && state.status !== 'stopped') {
      const file = this.layout.file(id, 'update.json');
      try {
        await writeFile(file, JSON.stringify(cgroup));
        await this.runc.update(id, file);
      } catch (err) {
        throw asDomainError(err, id);
      } finally {
        await rm(file, { force: true });
      }
    }
    const configPath = this.layout.file(id, 'config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8')) as OciSpec;
    config.linux.resources = { devices: config.linux.resources.devices, ...cgroup };
    await writeFile(`${configPath}.tmp`, JSON.stringify(config, null, 2));
    await rename(`${configPath}.tmp`, configPath);
    const latest = await this.metas.read(id);
    await this.metas.write({ ...latest, spec: { ...latest.spec, resources: merged } });
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

  private hostFacts(): Promise<HostFacts> {
    this.hostFactsPromise ??= (async () => {
      const [nofileHard, rlimits, cgroupVersion] = await Promise.all([hostNofileHardLimit(), hostHardLimits(), detectCgroupVersion()]);
      return { nofileHard, rlimits, cgroupVersion, swapLimit: await swapLimitSupported(cgroupVersion) };
    })();
    this.hostFactsPromise.catch(() => (this.hostFactsPromise = undefined));
    return this.hostFactsPromise;
  }

  /** Docker's profile, read afresh for each container; none for privileged or unconfined ones. */
  private async seccompProfileFor(spec: ContainerSpec): Promise<DockerSeccompProfile | undefined> {
    if (spec.security?.privileged || spec.security?.seccompProfile === 'unconfined') return undefined;
    return loadDockerSeccompProfile(this.seccompProfilePath);
  }

  /** The container's /etc/resolv.conf: the host's, made fit for the container's network, and its own dns settings. */
  private async resolvConf(spec: CreateContainerOptions['spec']): Promise<string> {
    const read = (path: string) => readFile(path, 'utf8').then(parseResolvConf, () => undefined);
    const { host, upstream } = this.resolvConfPaths;
    return resolvConfContent({ networkMode: spec.networkMode ?? 'bridge', host: await read(host), upstream: await read(upstream), dns: spec.dns });
  }

  /** rootfs mount, /etc files, config.json and meta.json of a new container. */
  private async writeBundle(
    { id, spec, image, metadata, mounts, netnsPath }: CreateContainerOptions,
    stopSignal: string,
    seccompProfile: DockerSeccompProfile | undefined,
  ): Promise<ContainerMeta> {
    const file = (name: Parameters<StateLayout['file']>[1]) => this.layout.file(id, name);
    await Promise.all([mkdir(file('rootfs')), mkdir(file('upper')), mkdir(file('work'))]);
    await this.mountRootfs(id, image.layerDirs);
    await this.copyUpVolumes(file('rootfs'), mounts);
    const user = await resolveUser(spec.user || image.config.user, file('rootfs'));
    const hostname = containerHostname(id, spec);
    await Promise.all([
      createHostsFile(file('hosts'), hostname),
      writeFile(file('hostname'), hostnameFileContent(hostname), { mode: 0o644 }),
      writeFile(file('resolv.conf'), await this.resolvConf(spec), { mode: 0o644 }),
    ]);
    const { nofileHard, rlimits, cgroupVersion, swapLimit } = await this.hostFacts();
    const ociSpec = buildOciSpec({
      id,
      spec,
      image: image.config,
      rootfsPath: file('rootfs'),
      user,
      hostNofileHardLimit: nofileHard,
      hostRlimits: rlimits,
      seccomp: seccompProfile ? { profile: seccompProfile, arch: arch(), kernel: release() } : undefined,
      swapLimit,
      cgroupsPath: cgroupPath(id),
      cgroupVersion,
      etcFiles: { hosts: file('hosts'), hostname: file('hostname'), resolvConf: file('resolv.conf') },
      mounts,
      netnsPath,
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

  /** Fills each new, empty volume with what the image holds where it is mounted, from the rootfs before anything is mounted over it. */
  private copyUpVolumes(rootfs: string, mounts: HostMount[] = []): Promise<void> {
    const copies = this.copyUps.then(async () => {
      for (const m of mounts) if (m.copyUp && m.type === 'bind' && m.source) await copyUp(rootfs, m.destination, m.source);
    });
    this.copyUps = copies.catch(() => undefined);
    return copies;
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
    await Promise.all([this.layout.exitFile(id), this.layout.file(id, 'oom'), this.layout.file(id, 'pidfile')].map((path) => rm(path, { force: true })));
    if (!(await isMountPoint(this.layout.file(id, 'rootfs')))) await this.mountRootfs(id, meta.image.layerDirs);
    await this.spawnMonitor(id, meta.spec.name);
  }

  /** Everything the container owns on the host, best effort and in order: process, monitor, mount, files. */
  private async destroy(id: string): Promise<void> {
    this.removing.add(id);
    try {
      await this.thawIfPaused(id).catch(() => undefined); // runc cannot kill a frozen container
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
    if (await exists(this.layout.file(id, 'oom'))) return true;
    const meta = known ?? (await this.metas.read(id).catch(() => undefined));
    if (!meta) return false;
    const run = meta.startedAt ?? meta.createdAt;
    if (meta.oomKilledRun === run) return true;
    const { cgroupVersion } = await this.hostFacts();
    const kills = await new ContainerCgroup(cgroupVersion, cgroupPath(id)).oomKillCount();
    if (!kills) return false;
    const latest = await this.metas.read(id).catch(() => undefined);
    if (latest && (latest.startedAt ?? latest.createdAt) === run) await this.metas.write({ ...latest, oomKilledRun: run });
    return true;
  }

  private async describe(meta: ContainerMeta, state: Pick<RuncState, 'status' | 'pid'> | undefined, exit: ExitRecord | undefined): Promise<ContainerInfo> {
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

  /** runc resume when runc says the container is paused; a container that is gone meanwhile is fine. */
  private async thawIfPaused(id: string): Promise<void> {
    const state = await this.runc.stateIfExists(id).catch(() => undefined);
    if (state?.status !== 'paused') return;
    try {
      await this.runc.resume(id);
    } catch (err) {
      const mapped = asDomainError(err, id);
      if (!(mapped instanceof FailedPreconditionError) && !(mapped instanceof NotFoundError)) throw mapped;
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

/** Running or paused: a process exists. */
function isLive(info: ContainerInfo): boolean {
  return info.status === 'running' || info.status === 'paused';
}

function cgroupPath(id: string): string {
  return `/berth/${id}`;
}

/** runc's complaint about an exec, as the domain error it amounts to. */
function execFailure(id: string, message: string): Error {
  if (/executable file not found|no such file or directory|permission denied|not a directory/i.test(message)) {
    return new InvalidArgumentError(`cannot run the command: ${message}`, [{ field: 'cmd', message }], 'CommandNotRunnable');
  }
  if (/paused/i.test(message)) return new FailedPreconditionError(`container ${id} is paused: ${message}`, 'ContainerPaused');
  if (/not running|stopped|does not exist/i.test(message))
    return new FailedPreconditionError(`container ${id} is not running: ${message}`, 'ContainerNotRunning');
  return new InternalError(`runc exec failed: ${message}`, 'ExecFailed');
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

function removeFiles(files: Record<string, string>): Promise<unknown> {
  return Promise.all(Object.values(files).map((file) => rm(file, { force: true })));
}
