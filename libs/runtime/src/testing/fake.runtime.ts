import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  type ContainerProcess,
  type ContainerResources,
  type ContainerStats,
  type ExecParams,
  type ExecResult,
  type LogLine,
} from '@berth/domain';
import type { ContainerInfo, ContainerRuntime, CreateContainerOptions, LogOptions, RuntimeCapabilities } from '../container-runtime';
import { buildExecProcess } from '../oci-process';
import { mergeResourceUpdate } from '../oci-resources';
import { buildOciSpec } from '../oci-spec';
import { resolveUserFromDatabase, type UserDatabase } from '../oci-user';
import { checkedId } from '../shared/container-id';
import { isPastUntil, selects, TailBuffer, toLogLine, toLogSelection, type TimedLogLine } from '../shared/log-selection';
import { parseSignal } from '../shared/signals';
import { DEFAULT_USERS, fakeStats, isLive, nextChange, notRunning, settlesWithin, type FakeContainer } from './fake-container';
import { runFakeExec } from './fake-exec';
import type { FakeProgram } from './fake-process';
import { FakeRun } from './fake-run';
import { basename, isKnownCommand } from './fake-shell';

export type { FakeProcess, FakeProgram } from './fake-process';

/**
 * An in-memory ContainerRuntime for unit tests of the worker. It keeps the real
 * runtime's rules (command and env resolution, users, signals, stop escalation,
 * exit codes 128+n) and "runs" commands with a tiny interpreter:
 *
 * - `sh -c SCRIPT` (any `.../sh`), or a bare command as argv;
 * - commands separated by `;`, newlines, `&&`, `||`; `cmd &` runs in the background;
 * - words in '…' or "…"; `$VAR`, `${VAR}` and `$?` expanded outside single quotes;
 *   `>&2` / `1>&2` send a command's output to stderr;
 * - builtins: `echo [-n]`, `printf` (`%s`, `\n`), `exit [n]`, `sleep SECONDS` (foreground: a trapped
 *   signal waits for it, as in sh), `wait` (interrupted by trapped signals), `trap 'ACTION' SIG…`,
 *   `true`, `false`, `:`, `id [-u|-g]`, `hostname`, `pwd`, `env`, `printenv [VAR]`, `cat` (no input);
 *   anything else prints `sh: NAME: not found` and exits 127.
 *
 * The init process behaves like pid 1 in a PID namespace: signals it does not
 * trap are ignored, except SIGKILL (exit 137). No if/while/for. Tests that need
 * more pass `program`, which replaces the interpreter for the containers it chooses.
 *
 * `exec` runs the same interpreter with the container's process settings (a first
 * word it does not know is `CommandNotRunnable`, as with runc). `pause` holds the
 * output, the exit and the signals until `unpause`. `stats` and `top` are made up
 * from the container's state and limits: 1 MiB of memory, 1 ms of CPU per second running.
 */
export interface FakeRuntimeOptions {
  /** /etc/passwd and /etc/group of every image (default: root, and berth with uid and gid 1000). */
  users?: UserDatabase;
  /** Returns a program to run instead of the interpreter, or undefined to interpret. */
  program?: (id: string, argv: string[]) => FakeProgram | undefined;
}

export class FakeRuntime implements ContainerRuntime {
  readonly name = 'fake';
  private readonly containers = new Map<string, FakeContainer>();
  private readonly exitListeners = new Set<(info: ContainerInfo) => void>();
  private nextPid = 1000;

  constructor(private readonly options: FakeRuntimeOptions = {}) {}

  capabilities(): RuntimeCapabilities {
    return { logs: true, signals: true, exec: true, tty: false, stats: true, pause: true, survivesWorkerRestart: false };
  }

  async versions(): Promise<Record<string, string>> {
    return { fake: '1' };
  }

  async create({ id, spec, image, metadata }: CreateContainerOptions): Promise<ContainerInfo> {
    checkedId(id);
    if (this.containers.has(id)) throw new AlreadyExistsError(`container ${id} already exists`, 'ContainerExists');
    const users = this.options.users ?? DEFAULT_USERS;
    const user = resolveUserFromDatabase(spec.user || image.config.user, users);
    // The same rules as the real runtime: build the OCI spec and run what it says.
    const oci = buildOciSpec({ id, spec, image: image.config, rootfsPath: '/', user, hostNofileHardLimit: 1048576, cgroupsPath: '' });
    const env = Object.fromEntries(oci.process.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    this.containers.set(id, {
      id,
      spec,
      image,
      metadata,
      createdAt: new Date().toISOString(),
      status: 'created',
      stopSignal: parseSignal(image.config.stopSignal || 'SIGTERM'),
      process: { argv: oci.process.args, env, cwd: oci.process.cwd, uid: user.uid, gid: user.gid, hostname: oci.hostname },
      oci: oci.process,
      logs: [],
      changed: new Set(),
    });
    return this.inspect(id);
  }

  async start(id: string): Promise<ContainerInfo> {
    const container = this.get(id);
    if (isLive(container)) return this.describe(container);
    container.status = 'running';
    container.pid = this.nextPid++;
    container.startedAt = new Date().toISOString();
    delete container.exitCode;
    delete container.finishedAt;
    const run = new FakeRun(container, this.options.program?.(id, container.process.argv));
    container.run = run;
    void run.exited.then((code) => this.finish(container, run, code));
    return this.describe(container);
  }

  async kill(id: string, signal: string): Promise<void> {
    const parsed = parseSignal(signal);
    const container = this.get(id);
    if (!isLive(container) || !container.run) throw notRunning(id);
    container.run.deliver(parsed);
    // As Docker: SIGKILL or the stop signal thaws a paused container, so the signal lands.
    if (parsed.number === 9 || parsed.number === container.stopSignal.number) this.thaw(container);
  }

  async stop(id: string, timeoutSec: number): Promise<ContainerInfo> {
    const container = this.get(id);
    const run = container.run;
    if (!isLive(container) || !run) return this.describe(container);
    run.deliver(container.stopSignal);
    this.thaw(container);
    if (!(await settlesWithin(run.exited, Math.max(0, timeoutSec) * 1000))) {
      run.deliver(parseSignal('SIGKILL'));
      this.thaw(container);
    }
    await run.exited; // finish() ran first: it subscribed when the run started
    return this.describe(container);
  }

  async remove(id: string, options: { force?: boolean } = {}): Promise<void> {
    const container = this.get(id);
    if (isLive(container)) {
      if (!options.force) {
        throw new FailedPreconditionError(`container ${id} is running: stop it first or remove it with force`, 'ContainerRunning');
      }
      this.containers.delete(id); // gone before the kill lands: no exit report, as with runc
      container.run?.deliver(parseSignal('SIGKILL'));
      this.thaw(container);
      await container.run?.exited;
    }
    this.containers.delete(id);
    container.changed.forEach((wake) => wake());
  }

  async inspect(id: string): Promise<ContainerInfo> {
    return this.describe(this.get(id));
  }

  async list(): Promise<ContainerInfo[]> {
    return [...this.containers.values()].map((c) => this.describe(c));
  }

  async wait(id: string, signal?: AbortSignal): Promise<ContainerInfo> {
    const container = this.get(id);
    while (isLive(container)) {
      if (signal?.aborted) throw new UnavailableError(`stopped waiting for container ${id}`, 'WaitAborted');
      await nextChange(container, signal);
      this.get(id);
    }
    return this.describe(container);
  }

  async *logs(id: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    const container = this.get(id);
    const selection = toLogSelection(options);
    const matching = (lines: TimedLogLine[]) => lines.filter((l) => selects(selection, l.stream, l.timeNs));
    let history = matching(container.logs);
    if (selection.tail !== undefined) {
      const tail = new TailBuffer<TimedLogLine>(selection.tail);
      history.forEach((line) => tail.push(line));
      history = tail.items();
    }
    for (const line of history) yield toLogLine(line);
    if (!selection.follow) return;
    let seen = container.logs.length;
    for (;;) {
      const finished = container.status === 'exited';
      const gone = !this.containers.has(id) || options.signal?.aborted;
      const fresh = container.logs.slice(seen);
      seen = container.logs.length;
      for (const line of matching(fresh)) yield toLogLine(line);
      if (fresh.some((l) => isPastUntil(selection, l.timeNs)) || finished || gone) return;
      await nextChange(container, options.signal);
    }
  }

  async exec(id: string, params: ExecParams): Promise<ExecResult> {
    const container = this.get(id);
    if (!(params.timeoutSec > 0)) {
      throw new InvalidArgumentError('timeoutSec must be a positive number', [{ field: 'timeoutSec', message: 'must be positive' }]);
    }
    if (container.status === 'paused') throw new FailedPreconditionError(`container ${id} is paused: unpause it first`, 'ContainerPaused');
    if (container.status !== 'running' || !container.run) throw notRunning(id);
    const user = params.user ? resolveUserFromDatabase(params.user, this.options.users ?? DEFAULT_USERS) : undefined;
    const oci = buildExecProcess(container.oci, params, user);
    const program = this.options.program?.(id, oci.args);
    if (!program && !isKnownCommand(oci.args[0])) {
      const message = `exec: "${oci.args[0]}": executable file not found in $PATH`;
      throw new InvalidArgumentError(`cannot run the command: ${message}`, [{ field: 'cmd', message }], 'CommandNotRunnable');
    }
    return runFakeExec(container, oci, program, params.timeoutSec);
  }

  async stats(id: string): Promise<ContainerStats> {
    const container = this.get(id);
    return fakeStats(container);
  }

  /** The init process only: the interpreter's background jobs are not processes. */
  async top(id: string): Promise<ContainerProcess[]> {
    const container = this.get(id);
    if (!isLive(container) || container.pid === undefined) throw notRunning(id);
    const users = (this.options.users ?? DEFAULT_USERS).passwd ?? '';
    const user = users
      .split('\n')
      .map((line) => line.split(':'))
      .find((f) => Number(f[2]) === container.process.uid)?.[0];
    const { argv } = container.process;
    return [
      {
        pid: container.pid,
        ppid: 0,
        user: user ?? String(container.process.uid),
        state: container.status === 'paused' ? 'D' : 'S',
        command: basename(argv[0]).slice(0, 15),
        args: [...argv],
      },
    ];
  }

  async pause(id: string): Promise<ContainerInfo> {
    const container = this.get(id);
    if (container.status === 'paused') return this.describe(container);
    if (container.status !== 'running' || !container.run) throw notRunning(id);
    container.status = 'paused';
    container.run.pause();
    return this.describe(container);
  }

  async unpause(id: string): Promise<ContainerInfo> {
    const container = this.get(id);
    if (container.status === 'running') return this.describe(container);
    if (container.status !== 'paused') throw notRunning(id);
    this.thaw(container);
    return this.describe(container);
  }

  async update(id: string, resources: ContainerResources): Promise<void> {
    const container = this.get(id);
    container.spec = { ...container.spec, resources: mergeResourceUpdate(container.spec.resources, resources) };
  }

  onExit(listener: (info: ContainerInfo) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  async close(): Promise<void> {
    for (const container of this.containers.values()) container.run?.deliver(parseSignal('SIGKILL'));
    this.exitListeners.clear();
  }

  private get(id: string): FakeContainer {
    const container = this.containers.get(id);
    if (!container) throw new NotFoundError(`container ${id} not found`, 'ContainerNotFound');
    return container;
  }

  private thaw(container: FakeContainer): void {
    if (container.status !== 'paused') return;
    container.status = 'running';
    container.run?.resume();
  }

  private finish(container: FakeContainer, run: FakeRun, code: number): void {
    if (container.run !== run) return;
    container.status = 'exited';
    container.exitCode = code;
    container.finishedAt = new Date().toISOString();
    delete container.pid;
    container.changed.forEach((wake) => wake());
    if (!this.containers.has(container.id)) return;
    const info = this.describe(container);
    for (const listener of [...this.exitListeners]) {
      try {
        listener(info);
      } catch {
        // One listener's failure must not keep the others from hearing of the exit.
      }
    }
  }

  private describe(c: FakeContainer): ContainerInfo {
    return {
      id: c.id,
      status: c.status,
      ...(c.pid !== undefined ? { pid: c.pid } : {}),
      ...(c.exitCode !== undefined ? { exitCode: c.exitCode, oomKilled: false } : {}),
      createdAt: c.createdAt,
      ...(c.startedAt ? { startedAt: c.startedAt } : {}),
      ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
      metadata: c.metadata,
    };
  }
}
