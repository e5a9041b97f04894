import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FailedPreconditionError, InternalError, InvalidArgumentError, type ExecParams, type ExecResult } from '@berth/domain';
import type { TtyExecParams, TtySession } from '../container-runtime';
import { buildExecProcess } from '../oci-process';
import type { OciSpec } from '../oci-spec';
import { resolveUser } from '../oci-user';
import type { ContainerMetaStore } from './container-meta';
import { notRunning, type ContainerStatusReader } from './container-status';
import { runRuncExec } from './exec-process';
import type { RuncClient } from './runc';
import type { StateLayout } from './state-layout';
import { spawnTtyExec } from './tty-exec';

/** A process run in a running container, to its end or on a terminal. */
export class ContainerExec {
  constructor(
    private readonly layout: StateLayout,
    private readonly runc: RuncClient,
    private readonly metas: ContainerMetaStore,
    private readonly status: ContainerStatusReader,
  ) {}

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
    const files = await this.prepare(id, params, false);
    try {
      const outcome = await runRuncExec({ runcPath: this.runc.path, runcRoot: this.layout.runcRoot, id, ...files, timeoutMs: timeoutSec * 1000 });
      if (outcome.runcError !== undefined) throw execFailure(id, outcome.runcError);
      return { exitCode: outcome.exitCode, stdout: outcome.stdout, stderr: outcome.stderr, truncated: outcome.truncated };
    } finally {
      await removeFiles(files);
    }
  }

  async execTty(id: string, params: TtyExecParams): Promise<TtySession> {
    const files = await this.prepare(id, params, true, { width: params.cols, height: params.rows });
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
  private async prepare(id: string, params: Omit<ExecParams, 'timeoutSec'>, terminal: boolean, consoleSize?: { width: number; height: number }) {
    await this.metas.read(id);
    const info = await this.status.inspect(id);
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

function removeFiles(files: Record<string, string>): Promise<unknown> {
  return Promise.all(Object.values(files).map((file) => rm(file, { force: true })));
}
