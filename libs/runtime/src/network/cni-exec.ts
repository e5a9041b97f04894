import { spawn } from 'node:child_process';
import { FailedPreconditionError, InternalError, UnavailableError } from '@berth/domain';

export interface CniExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one CNI plugin: the CNI_* variables in a fresh environment, the network
 * configuration on stdin. Killed with SIGKILL after `timeoutMs`. Tests swap in a scripted one.
 */
export interface CniExec {
  run(pluginPath: string, env: Record<string, string>, stdin: string, timeoutMs: number): Promise<CniExecResult>;
}

const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

export const spawnCniExec: CniExec = prefixedCniExec([]);

/**
 * Runs the plugins in another network namespace (`nsenter --net=<path>`): the host
 * side of the worker's networking (bridges, host veths, iptables) is then that
 * namespace's, not the worker's own.
 */
export function cniExecInNetns(netns: string, nsenterPath = '/usr/bin/nsenter'): CniExec {
  return prefixedCniExec([nsenterPath, `--net=${netns}`, '--']);
}

function prefixedCniExec(prefix: readonly string[]): CniExec {
  return {
    run: (pluginPath, env, stdin, timeoutMs) => spawnPlugin(prefix, pluginPath, env, stdin, timeoutMs),
  };
}

function spawnPlugin(prefix: readonly string[], pluginPath: string, env: Record<string, string>, stdin: string, timeoutMs: number): Promise<CniExecResult> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = [...prefix, pluginPath];
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) {
        child.kill('SIGKILL');
        return finish(() => reject(new InternalError(`${pluginPath} wrote more than ${MAX_OUTPUT_BYTES} bytes`, 'CniOutputTooLarge')));
      }
      into.push(chunk);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(() => reject(new UnavailableError(`${pluginPath} ${env.CNI_COMMAND ?? ''} timed out after ${timeoutMs} ms`, 'CniTimeout')));
    }, timeoutMs);
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));
    child.on('error', (err: NodeJS.ErrnoException) =>
      finish(() =>
        reject(
          err.code === 'ENOENT' || err.code === 'EACCES'
            ? new FailedPreconditionError(`CNI plugin ${pluginPath} cannot be run: ${err.message}`, 'CniPluginMissing')
            : new InternalError(`cannot run ${pluginPath}: ${err.message}`, 'CniExecFailed'),
        ),
      ),
    );
    child.on('close', (code, signal) =>
      finish(() =>
        resolve({
          exitCode: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        }),
      ),
    );
    // A plugin that exits without reading stdin makes the write fail with EPIPE: its exit says more.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}
