import { spawn } from 'node:child_process';
import { InternalError, InvalidArgumentError, UnavailableError, type DomainError } from '@berth/domain';
import { runcMessage } from './runc';

/**
 * conmon, the per-container monitor: it runs `runc create`, owns the container's
 * stdio (written to a k8s-file log), writes the exit code to the exit dir, and
 * outlives the worker. It daemonizes; the create result comes back on a sync pipe.
 */
export interface ConmonOptions {
  id: string;
  name: string;
  runcPath: string;
  runcRoot: string;
  bundle: string;
  containerPidFile: string;
  conmonPidFile: string;
  logPath: string;
  exitDir: string;
  socketDir: string;
}

export function conmonArgs(o: ConmonOptions): string[] {
  return [
    '--api-version',
    '1',
    '--cid',
    o.id,
    '--cuuid',
    o.id,
    '--name',
    o.name,
    '--runtime',
    o.runcPath,
    '--runtime-arg',
    `--root=${o.runcRoot}`,
    '--bundle',
    o.bundle,
    '--container-pidfile',
    o.containerPidFile,
    '--conmon-pidfile',
    o.conmonPidFile,
    '--log-path',
    `k8s-file:${o.logPath}`,
    '--exit-dir',
    o.exitDir,
    '--socket-dir-path',
    o.socketDir,
    '--syslog=false',
  ];
}

export interface SpawnConmonOptions {
  /** conmon writes its `oom` marker into its working directory: use the bundle. */
  cwd: string;
  timeoutMs?: number;
}

/** The environment conmon (and runc under it) gets: nothing of the worker's. fd 3 is the sync pipe. */
const CONMON_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', _OCI_SYNCPIPE: '3' };

/**
 * Starts conmon and resolves with the container's init pid once `runc create`
 * succeeded; rejects with runc's message when it failed. The caller cleans up.
 */
export function spawnConmon(conmonPath: string, args: string[], options: SpawnConmonOptions): Promise<{ containerPid: number }> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(conmonPath, args, {
      cwd: options.cwd,
      detached: true,
      env: CONMON_ENV,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    const syncPipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
    let sync = '';
    let stderr = '';
    let settled = false;
    const finish = (error?: DomainError, pid?: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      syncPipe.destroy();
      child.stderr?.destroy();
      child.unref();
      if (error) reject(error);
      else resolve({ containerPid: pid as number });
    };
    const timer = setTimeout(
      () => finish(new UnavailableError(`conmon did not report the container created within ${timeoutMs} ms`, 'CreateTimeout')),
      timeoutMs,
    );
    child.on('error', (err) => finish(new InternalError(`cannot run conmon: ${err.message}`, 'ConmonFailed')));
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8192)));
    syncPipe.on('data', (chunk: Buffer) => {
      sync += chunk.toString();
      const newline = sync.indexOf('\n');
      if (newline < 0) return;
      const message = parseSyncMessage(sync.slice(0, newline));
      if (message && message.data > 0) finish(undefined, message.data);
      else finish(createFailure(message?.message ?? sync));
    });
    syncPipe.on('close', () => finish(new InternalError(`conmon exited before creating the container: ${stderr.trim() || 'no output'}`, 'ConmonFailed')));
  });
}

interface SyncMessage {
  data: number;
  message?: string;
}

function parseSyncMessage(line: string): SyncMessage | undefined {
  try {
    const parsed = JSON.parse(line) as SyncMessage;
    return typeof parsed.data === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** runc's complaint, as the domain error it amounts to. */
export function createFailure(runcOutput: string): DomainError {
  const message = runcMessage(runcOutput);
  if (/executable file not found|no such file or directory|permission denied/i.test(message) && /exec/i.test(message)) {
    return new InvalidArgumentError(`cannot start the container's command: ${message}`, [{ field: 'cmd', message }], 'CommandNotRunnable');
  }
  return new InternalError(`runc create failed: ${message}`, 'RuntimeCreateFailed');
}

/** `2.1.6` from `conmon version 2.1.6`. */
export function parseConmonVersion(output: string): string {
  return /conmon version (\S+)/.exec(output)?.[1] ?? output.split('\n')[0].trim();
}
