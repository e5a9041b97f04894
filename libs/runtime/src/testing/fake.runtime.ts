import {
  AlreadyExistsError,
  FailedPreconditionError,
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
import type { ContainerInfo, ContainerRuntime, CreateContainerOptions, LogOptions, ResolvedImage, RuntimeCapabilities } from '../container-runtime';
import { buildExecProcess, type OciProcess } from '../oci-process';
import { mergeResourceUpdate } from '../oci-resources';
import { buildOciSpec } from '../oci-spec';
import { resolveUserFromDatabase, type UserDatabase } from '../oci-user';
import { checkedId } from '../shared/container-id';
import { dateToNs, isPastUntil, selects, TailBuffer, toLogLine, toLogSelection, type TimedLogLine } from '../shared/log-selection';
import { parseSignal, type ParsedSignal } from '../shared/signals';

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

/** A scripted process: write output, watch for signals, resolve with the exit code. */
export type FakeProgram = (process: FakeProcess) => Promise<number>;

export interface FakeProcess {
  readonly argv: string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
  readonly hostname: string;
  write(stream: 'stdout' | 'stderr', text: string): void;
  /** Aborts when the process is killed (SIGKILL); the program's result is then ignored. */
  readonly killed: AbortSignal;
  /** Called for every signal other than SIGKILL. */
  onSignal(handler: (signal: ParsedSignal) => void): void;
}

const DEFAULT_USERS: UserDatabase = {
  passwd: 'root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000::/home/berth:/bin/sh\n',
  group: 'root:x:0:\nberth:x:1000:\n',
};

interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  image: ResolvedImage;
  metadata: Record<string, unknown>;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  pid?: number;
  status: 'created' | 'running' | 'paused' | 'exited';
  stopSignal: ParsedSignal;
  process: Omit<FakeProcess, 'write' | 'killed' | 'onSignal'>;
  /** The OCI process, for exec. */
  oci: OciProcess;
  userName?: string;
  logs: TimedLogLine[];
  run?: FakeRun;
  /** Wakes log followers and waiters. */
  changed: Set<() => void>;
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
    if (!program && !KNOWN_COMMANDS.has(basename(oci.args[0]))) {
      const message = `exec: "${oci.args[0]}": executable file not found in $PATH`;
      throw new InvalidArgumentError(`cannot run the command: ${message}`, [{ field: 'cmd', message }], 'CommandNotRunnable');
    }
    const output = { stdout: '', stderr: '' };
    let truncated = false;
    const kill = new AbortController();
    const stopWithContainer = () => kill.abort();
    container.run.killed.addEventListener('abort', stopWithContainer, { once: true });
    const process: FakeProcess = {
      argv: oci.args,
      env: Object.fromEntries(oci.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
      cwd: oci.cwd,
      uid: oci.user.uid,
      gid: oci.user.gid,
      hostname: container.process.hostname,
      write: (stream, text) => {
        if (kill.signal.aborted) return;
        const room = EXEC_OUTPUT_LIMIT - output[stream].length;
        if (text.length > room) truncated = true;
        output[stream] += text.slice(0, Math.max(0, room));
      },
      killed: kill.signal,
      onSignal: () => undefined,
    };
    const timer = setTimeout(() => kill.abort(), params.timeoutSec * 1000);
    const killed = new Promise<number>((resolve) => kill.signal.addEventListener('abort', () => resolve(137), { once: true }));
    const running = (program ?? interpret)(process).catch((err: unknown) => (err instanceof ShellExit ? err.code : 1));
    try {
      const exitCode = await Promise.race([running, killed]);
      return { exitCode, stdout: output.stdout, stderr: output.stderr, truncated };
    } finally {
      clearTimeout(timer);
      kill.abort();
      container.run.killed.removeEventListener('abort', stopWithContainer);
    }
  }

  async stats(id: string): Promise<ContainerStats> {
    const container = this.get(id);
    const live = isLive(container);
    const runningMs = live && container.startedAt ? Date.now() - Date.parse(container.startedAt) : 0;
    const usageNanos = Math.max(0, runningMs) * 1000; // 1 ms of CPU per second
    const systemNanos = Date.now() * 1e6;
    const resources = container.spec.resources ?? {};
    return {
      read: new Date().toISOString(),
      cpu: { usageNanos, systemNanos, onlineCpus: 1 },
      memory: {
        usageBytes: live ? 1024 * 1024 : 0,
        ...(resources.memoryBytes !== undefined ? { limitBytes: resources.memoryBytes } : {}),
      },
      pids: { current: live ? 1 : 0, ...(resources.pidsLimit !== undefined && resources.pidsLimit > 0 ? { limit: resources.pidsLimit } : {}) },
      blockIo: { readBytes: 0, writeBytes: 0 },
      ...(live ? { network: { rxBytes: 0, txBytes: 0 } } : {}),
    };
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

const EXEC_OUTPUT_LIMIT = 1024 * 1024;

function isLive(container: FakeContainer): boolean {
  return container.status === 'running' || container.status === 'paused';
}

function notRunning(id: string): FailedPreconditionError {
  return new FailedPreconditionError(`container ${id} is not running`, 'ContainerNotRunning');
}

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function nextChange(container: FakeContainer, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      container.changed.delete(done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    container.changed.add(done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// One run of a container's init process.

/** Thrown by `exit` to unwind the script; caught where the script's status is taken. */
class ShellExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'ShellExit';
  }
}

class FakeRun {
  readonly exited: Promise<number>;
  private readonly kill = new AbortController();
  private readonly signalHandlers: ((signal: ParsedSignal) => void)[] = [];
  private readonly partial = { stdout: '', stderr: '' };
  /** While paused: output and signals wait here, and so does the exit. */
  private frozen?: { writes: ['stdout' | 'stderr', string][]; signals: ParsedSignal[]; thawed: Promise<void>; thaw: () => void };

  constructor(
    private readonly container: FakeContainer,
    program: FakeProgram | undefined,
  ) {
    const process: FakeProcess = {
      ...container.process,
      write: (stream, text) => this.write(stream, text),
      killed: this.kill.signal,
      onSignal: (handler) => this.signalHandlers.push(handler),
    };
    const running = (program ?? interpret)(process).catch((err: unknown) => (err instanceof ShellExit ? err.code : 1));
    const killed = new Promise<number>((resolve) => this.kill.signal.addEventListener('abort', () => resolve(137), { once: true }));
    this.exited = Promise.race([running, killed]).then(async (code) => {
      await this.frozen?.thawed;
      this.flush();
      this.kill.abort(); // ends background jobs and timers, as the PID namespace dies with its init
      return code;
    });
  }

  get killed(): AbortSignal {
    return this.kill.signal;
  }

  deliver(signal: ParsedSignal): void {
    if (this.frozen) this.frozen.signals.push(signal);
    else if (signal.number === 9) this.kill.abort();
    else this.signalHandlers.forEach((handler) => handler(signal));
  }

  pause(): void {
    if (this.frozen) return;
    let thaw = () => undefined as void;
    const thawed = new Promise<void>((resolve) => (thaw = resolve));
    this.frozen = { writes: [], signals: [], thawed, thaw };
  }

  resume(): void {
    const frozen = this.frozen;
    if (!frozen) return;
    this.frozen = undefined;
    frozen.writes.forEach(([stream, text]) => this.write(stream, text));
    frozen.signals.forEach((signal) => this.deliver(signal));
    frozen.thaw();
  }

  private write(stream: 'stdout' | 'stderr', text: string): void {
    if (this.kill.signal.aborted) return;
    if (this.frozen) {
      this.frozen.writes.push([stream, text]);
      return;
    }
    const lines = (this.partial[stream] + text).split('\n');
    this.partial[stream] = lines.pop() ?? '';
    for (const line of lines) this.container.logs.push({ stream, timeNs: dateToNs(new Date()), line });
    if (lines.length) this.container.changed.forEach((wake) => wake());
  }

  private flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.container.logs.push({ stream, timeNs: dateToNs(new Date()), line: this.partial[stream] });
      this.partial[stream] = '';
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The interpreter.

type WordPart = { text: string; expand: boolean; bare?: boolean };
type Word = WordPart[];
interface SimpleCommand {
  words: Word[];
  toStderr: boolean;
  /** How this command joins the previous one. */
  after: ';' | '&&' | '||';
  background: boolean;
}

/** The commands the interpreter knows (anything else is `not found`). */
const KNOWN_COMMANDS = new Set([
  'echo',
  'printf',
  'exit',
  'sleep',
  'wait',
  'trap',
  'true',
  ':',
  'false',
  'id',
  'hostname',
  'pwd',
  'env',
  'printenv',
  'cat',
  'sh',
]);

async function interpret(process: FakeProcess): Promise<number> {
  const [file, ...args] = process.argv;
  const shell = new FakeShell(process);
  if (basename(file) === 'sh' && args[0] === '-c') return shell.runScript(args[1] ?? '');
  return shell.runCommand([file, ...args], false);
}

class FakeShell {
  private status = 0;
  private readonly traps = new Map<string, string>();
  private readonly pendingTraps: string[] = [];
  private readonly background: Promise<number>[] = [];
  private interruptWait?: () => void;

  constructor(private readonly process: FakeProcess) {
    process.onSignal((signal) => {
      const action = this.traps.get(signal.name);
      if (action === undefined) return; // pid 1 ignores the signals it does not handle
      this.pendingTraps.push(action);
      this.interruptWait?.();
    });
  }

  async runScript(script: string): Promise<number> {
    for (const command of parseScript(script)) {
      if ((command.after === '&&' && this.status !== 0) || (command.after === '||' && this.status === 0)) continue;
      const argv = command.words.map((word) => this.expand(word));
      if (command.background) {
        this.background.push(this.runCommand(argv, command.toStderr).catch((e: unknown) => (e instanceof ShellExit ? e.code : 1)));
        this.status = 0;
      } else {
        this.status = await this.runCommand(argv, command.toStderr);
      }
      await this.runPendingTraps();
    }
    return this.status;
  }

  async runCommand(argv: string[], toStderr: boolean): Promise<number> {
    const out = (text: string) => this.process.write(toStderr ? 'stderr' : 'stdout', text);
    const [name, ...args] = argv;
    switch (basename(name ?? '')) {
      case 'echo': {
        const newline = args[0] !== '-n';
        out((newline ? args : args.slice(1)).join(' ') + (newline ? '\n' : ''));
        return 0;
      }
      case 'printf':
        out(printf(args[0] ?? '', args.slice(1)));
        return 0;
      case 'exit':
        throw new ShellExit(args[0] === undefined ? this.status : Number(args[0]) & 255);
      case 'sleep':
        await delay(Number(args[0] ?? 0) * 1000, this.process.killed);
        return 0;
      case 'wait':
        return this.waitForBackground();
      case 'trap':
        return this.setTraps(args);
      case 'true':
      case ':':
        return 0;
      case 'false':
        return 1;
      case 'id':
        out(`${args[0] === '-u' ? this.process.uid : args[0] === '-g' ? this.process.gid : `uid=${this.process.uid} gid=${this.process.gid}`}\n`);
        return 0;
      case 'hostname':
        out(`${this.process.hostname}\n`);
        return 0;
      case 'pwd':
        out(`${this.process.cwd}\n`);
        return 0;
      case 'env':
        out(
          Object.entries(this.process.env)
            .map(([k, v]) => `${k}=${v}\n`)
            .join(''),
        );
        return 0;
      case 'printenv':
        if (args[0] === undefined) return this.runCommand(['env'], toStderr);
        if (!(args[0] in this.process.env)) return 1;
        out(`${this.process.env[args[0]]}\n`);
        return 0;
      case 'cat':
        return 0;
      case 'sh':
        if (args[0] === '-c') return new FakeShell(this.process).runScript(args[1] ?? '');
        return 0;
      default:
        this.process.write('stderr', `sh: ${name}: not found\n`);
        return 127;
    }
  }

  private async waitForBackground(): Promise<number> {
    if (this.pendingTraps.length) return 128;
    const interrupted = new Promise<number>((resolve) => (this.interruptWait = () => resolve(128)));
    const all = Promise.all(this.background).then(() => 0);
    const code = await Promise.race([all, interrupted]);
    this.interruptWait = undefined;
    return code;
  }

  private setTraps(args: string[]): number {
    const [action, ...signals] = args;
    for (const signal of signals) {
      const name = signal === 'EXIT' || signal === '0' ? 'EXIT' : parseSignal(signal).name;
      if (action === '-') this.traps.delete(name);
      else this.traps.set(name, action ?? '');
    }
    return 0;
  }

  private async runPendingTraps(): Promise<void> {
    while (this.pendingTraps.length) await this.runScript(this.pendingTraps.shift() as string);
  }

  private expand(word: Word): string {
    return word
      .map((part) =>
        part.expand
          ? part.text.replace(/\$(\?|\{(\w+)\}|(\w+))/g, (_, all: string, braced?: string, bare?: string) =>
              all === '?' ? String(this.status) : (this.process.env[(braced ?? bare) as string] ?? ''),
            )
          : part.text,
      )
      .join('');
  }
}

/** Splits a script into simple commands: quotes, operators and `>&2` understood, nothing more. */
function parseScript(script: string): SimpleCommand[] {
  const commands: SimpleCommand[] = [];
  let current: SimpleCommand = { words: [], toStderr: false, after: ';', background: false };
  let word: Word | undefined;
  const endWord = () => {
    if (word) current.words.push(word);
    word = undefined;
  };
  const endCommand = (next: SimpleCommand['after'], background = false) => {
    endWord();
    if (current.words.length) commands.push({ ...current, background });
    current = { words: [], toStderr: false, after: next, background: false };
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i];
    const two = script.slice(i, i + 2);
    if (c === "'" || c === '"') {
      const close = script.indexOf(c, i + 1);
      const end = close < 0 ? script.length : close;
      (word ??= []).push({ text: script.slice(i + 1, end), expand: c === '"' });
      i = end;
    } else if (two === '&&' || two === '||') {
      endCommand(two);
      i++;
    } else if (script.startsWith('1>&2', i) || two === '>&') {
      endWord();
      current.toStderr = true;
      i += script.startsWith('1>&2', i) ? 3 : 2;
    } else if (c === '&') {
      endCommand(';', true);
    } else if (c === ';' || c === '\n') {
      endCommand(';');
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else {
      word ??= [];
      const last = word[word.length - 1];
      if (last?.bare) last.text += c;
      else word.push({ text: c, expand: true, bare: true });
    }
  }
  endCommand(';');
  return commands;
}

function printf(format: string, args: string[]): string {
  let next = 0;
  return format.replace(/\\n|\\t|%s|%d|%%/g, (token) => (token === '\\n' ? '\n' : token === '\\t' ? '\t' : token === '%%' ? '%' : (args[next++] ?? '')));
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
