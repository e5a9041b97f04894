import { parseSignal } from '../shared/signals';
import type { FakeProcess, FakeProgram } from './fake-process';
import { parseScript, type Word } from './fake-shell-parser';

/**
 * The fake runtime's tiny shell: `sh -c SCRIPT` or a bare command, the builtins
 * FakeRuntime's documentation lists, traps and background jobs.
 */

/** Thrown by `exit` to unwind the script; caught where the script's status is taken. */
class ShellExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'ShellExit';
  }
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

/** Whether the interpreter knows the command (by its base name). */
export function isKnownCommand(file: string): boolean {
  return KNOWN_COMMANDS.has(basename(file));
}

/** Runs the program, or the interpreter on the process's argv; resolves with the exit code (`exit n` gives n, a throw 1). */
export function runFakeProgram(program: FakeProgram | undefined, process: FakeProcess): Promise<number> {
  return (program ?? interpret)(process).catch((err: unknown) => (err instanceof ShellExit ? err.code : 1));
}

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

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
