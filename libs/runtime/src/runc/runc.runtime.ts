import type { ContainerProcess, ContainerResources, ContainerStats, ExecParams, ExecResult, LogLine } from '@berth/domain';
import type { ContainerInfo, ContainerRuntime, CreateContainerOptions, LogOptions, RuntimeCapabilities, TtyExecParams, TtySession } from '../container-runtime';
import { writeHostsFileInPlace } from '../network/hosts-file';
import { DEFAULT_SECCOMP_PROFILE_PATH } from '../seccomp';
import { checkedId } from '../shared/container-id';
import { execFileRunner, type ProcessRunner } from '../shared/process-runner';
import { parseConmonVersion } from './conmon';
import { ConmonMonitor } from './conmon-monitor';
import { ContainerBundles } from './container-bundles';
import { ContainerExec } from './container-exec';
import { ContainerLifecycle } from './container-lifecycle';
import { ContainerMetaStore } from './container-meta';
import { ContainerObserver } from './container-observer';
import { ContainerStatusReader } from './container-status';
import { ExitReports } from './exit-reports';
import { detectCgroupVersion, HostFactsCache } from './host';
import { RuncClient } from './runc';
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
  /** Docker's seccomp profile (default /usr/share/berth/seccomp/default.json); create fails when it is missing. */
  seccompProfilePath?: string;
  /** The host's resolver configuration (default /etc/resolv.conf), and the upstream one behind a local stub (systemd-resolved's). */
  resolvConfPaths?: { host: string; upstream: string };
}

/**
 * Containers run by runc under conmon: conmon owns each container's stdio, log
 * and exit code, so containers outlive the worker, and any RuncRuntime over the
 * same root sees them again. State comes from `runc state` plus conmon's exit file.
 *
 * The port over a few collaborators, one concern each: the lifecycle, the status
 * read from disk and runc, exit reports, exec, and observation (logs, stats, top).
 */
export class RuncRuntime implements ContainerRuntime {
  readonly name = 'runc';
  private readonly layout: StateLayout;
  private readonly runc: RuncClient;
  private readonly runner: ProcessRunner;
  private readonly conmonPath: string;
  private readonly closing = new AbortController();
  private readonly status: ContainerStatusReader;
  private readonly exits: ExitReports;
  private readonly lifecycle: ContainerLifecycle;
  private readonly execs: ContainerExec;
  private readonly observer: ContainerObserver;
  private prepared?: Promise<void>;

  constructor(options: RuncRuntimeOptions) {
    this.layout = new StateLayout(options.root);
    this.runner = options.runner ?? execFileRunner;
    this.runc = new RuncClient({ root: this.layout.runcRoot, path: options.runcPath, runner: this.runner });
    this.conmonPath = options.conmonPath ?? '/usr/bin/conmon';
    const killGraceMs = options.killGraceMs ?? 10_000;
    const layout = this.layout;
    const metas = new ContainerMetaStore(layout);
    const hostFacts = new HostFactsCache();
    const prepare = () => this.prepare();
    const monitor = new ConmonMonitor(layout, { conmonPath: this.conmonPath, runcPath: this.runc.path, killGraceMs });
    const bundles = new ContainerBundles(layout, this.runner, metas, hostFacts, {
      seccompProfilePath: options.seccompProfilePath ?? DEFAULT_SECCOMP_PROFILE_PATH,
      resolvConfPaths: options.resolvConfPaths ?? { host: '/etc/resolv.conf', upstream: '/run/systemd/resolve/resolv.conf' },
    });
    this.status = new ContainerStatusReader(layout, this.runc, metas, monitor, hostFacts, prepare);
    this.exits = new ExitReports(layout, this.status, prepare, this.closing.signal);
    this.lifecycle = new ContainerLifecycle({
      layout,
      runc: this.runc,
      metas,
      status: this.status,
      exits: this.exits,
      monitor,
      bundles,
      hostFacts,
      prepare,
      killGraceMs,
    });
    this.execs = new ContainerExec(layout, this.runc, metas, this.status);
    this.observer = new ContainerObserver({ layout, metas, status: this.status, monitor, hostFacts, closing: this.closing.signal });
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

  create(options: CreateContainerOptions): Promise<ContainerInfo> {
    return this.lifecycle.create(options);
  }

  start(id: string): Promise<ContainerInfo> {
    return this.lifecycle.start(id);
  }

  kill(id: string, signal: string): Promise<void> {
    return this.lifecycle.kill(id, signal);
  }

  stop(id: string, timeoutSec: number): Promise<ContainerInfo> {
    return this.lifecycle.stop(id, timeoutSec);
  }

  remove(id: string, options: { force?: boolean } = {}): Promise<void> {
    return this.lifecycle.remove(id, options);
  }

  inspect(id: string): Promise<ContainerInfo> {
    return this.status.inspect(id);
  }

  async setHosts(id: string, content: string): Promise<void> {
    await writeHostsFileInPlace(this.layout.file(checkedId(id), 'hosts'), content);
  }

  list(): Promise<ContainerInfo[]> {
    return this.status.list();
  }

  wait(id: string, signal?: AbortSignal): Promise<ContainerInfo> {
    return this.exits.wait(id, signal);
  }

  logs(id: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    return this.observer.logs(id, options);
  }

  exec(id: string, params: ExecParams): Promise<ExecResult> {
    return this.execs.exec(id, params);
  }

  execTty(id: string, params: TtyExecParams): Promise<TtySession> {
    return this.execs.execTty(id, params);
  }

  stats(id: string): Promise<ContainerStats> {
    return this.observer.stats(id);
  }

  top(id: string): Promise<ContainerProcess[]> {
    return this.observer.top(id);
  }

  pause(id: string): Promise<ContainerInfo> {
    return this.lifecycle.pause(id);
  }

  unpause(id: string): Promise<ContainerInfo> {
    return this.lifecycle.unpause(id);
  }

  update(id: string, resources: ContainerResources): Promise<void> {
    return this.lifecycle.update(id, resources);
  }

  onExit(listener: (info: ContainerInfo) => void): () => void {
    return this.exits.onExit(listener);
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.exits.stop();
  }

  private prepare(): Promise<void> {
    this.prepared ??= this.layout.ensure();
    return this.prepared;
  }
}
