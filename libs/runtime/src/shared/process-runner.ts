import { execFile } from 'node:child_process';
import { InternalError, UnavailableError } from '@berth/domain';

export interface ProcessResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Killed with SIGKILL after this long (default 30 s). */
  timeoutMs?: number;
}

/**
 * Runs a program with an argument array (never a shell) and reports how it ended.
 * A non-zero exit is a result, not an error; failing to run at all, or running
 * out of time, is an error. Tests swap in a scripted runner.
 */
export interface ProcessRunner {
  run(file: string, args: readonly string[], options?: RunOptions): Promise<ProcessResult>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export const execFileRunner: ProcessRunner = {
  run(file, args, options = {}) {
    const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      execFile(file, [...args], { timeout, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (!error) return resolve({ exitCode: 0, stdout, stderr });
        const failure = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        if (typeof failure.code === 'number') return resolve({ exitCode: failure.code, stdout, stderr });
        if (failure.killed) {
          return reject(new UnavailableError(`${file} ${args[0] ?? ''} timed out after ${timeout} ms`, 'ProcessTimeout'));
        }
        reject(new InternalError(`cannot run ${file}: ${failure.message}`, 'ProcessFailed'));
      });
    });
  },
};
