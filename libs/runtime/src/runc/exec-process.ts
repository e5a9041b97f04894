import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { InternalError } from '@berth/domain';
import { readPidFile } from './processes';
import { runcArgs } from './runc';

/**
 * One `runc exec --process`, run in the foreground: stdout and stderr captured
 * apart and capped, the process SIGKILLed (by its host pid) when time runs out.
 * runc writes its own complaints as JSON to a log file, so they never mix with
 * the process's stderr.
 */
export interface RuncExecRun {
  runcPath: string;
  runcRoot: string;
  id: string;
  processFile: string;
  pidFile: string;
  logFile: string;
  timeoutMs: number;
  /** Per stream (default 1 MiB). */
  maxOutputBytes?: number;
}

export interface RuncExecOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  /** runc's own error (the process never started, or runc failed), from its log. */
  runcError?: string;
}

export const EXEC_OUTPUT_LIMIT_BYTES = 1024 * 1024;
/** After the process is gone, how long output still held open by its children is awaited. */
const DRAIN_MS = 300;
/** After the timeout's SIGKILL, how long runc gets to notice before it is killed too. */
const KILL_GRACE_MS = 5000;

const EXEC_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };

export function runRuncExec(run: RuncExecRun): Promise<RuncExecOutcome> {
  const limit = run.maxOutputBytes ?? EXEC_OUTPUT_LIMIT_BYTES;
  const args = ['--root', run.runcRoot, '--log', run.logFile, '--log-format', 'json', ...runcArgs.exec(run.id, run.processFile, run.pidFile)];
  return new Promise((resolve, reject) => {
    const child = spawn(run.runcPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: EXEC_ENV });
    const out = new CappedBuffer(limit);
    const err = new CappedBuffer(limit);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];

    const finish = async () => {
      if (settled || !exit) return;
      settled = true;
      timers.forEach(clearTimeout);
      child.stdout.destroy();
      child.stderr.destroy();
      const runcError = exit.code !== 0 && !timedOut ? await readRuncLogError(run.logFile) : undefined;
      resolve({
        exitCode: timedOut ? 137 : (exit.code ?? 128 + signalNumber(exit.signal)),
        stdout: out.text(),
        stderr: err.text(),
        truncated: out.truncated || err.truncated,
        timedOut,
        ...(runcError ? { runcError } : {}),
      });
    };

    child.on('error', (error) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      reject(new InternalError(`cannot run runc exec: ${error.message}`, 'ExecFailed'));
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Children of the process may hold the pipes open: wait briefly, then stop reading.
      timers.push(setTimeout(() => void finish(), DRAIN_MS));
    });
    child.on('close', () => void finish());

    timers.push(
      setTimeout(
        () => {
          timedOut = true;
          void killExecProcess(run.pidFile, child.pid);
          timers.push(setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS));
        },
        Math.max(0, run.timeoutMs),
      ),
    );
  });
}

/** SIGKILL to the exec'd process (runc then exits 137); runc itself when the process never got a pid. */
async function killExecProcess(pidFile: string, runcPid: number | undefined): Promise<void> {
  const pid = await readPidFile(pidFile);
  try {
    if (pid) process.kill(pid, 'SIGKILL');
    else if (runcPid) process.kill(runcPid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** The last error runc logged (`{"level":"error","msg":"…"}` lines). */
export async function readRuncLogError(logFile: string): Promise<string | undefined> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) errors.push(entry.msg);
    } catch {
      // Not JSON: ignore.
    }
  }
  return errors.length ? errors[errors.length - 1] : undefined;
}

/** Keeps the first `limit` bytes and notes whether more came. */
class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      if (chunk.length) this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    this.chunks.push(kept);
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  if (!signal) return 0;
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}
