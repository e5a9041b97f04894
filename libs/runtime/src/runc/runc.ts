import { FailedPreconditionError, InternalError, NotFoundError, type DomainError } from '@berth/domain';
import { execFileRunner, type ProcessRunner } from '../shared/process-runner';

/** The runc CLI, wrapped once: typed options become argument arrays, failures a `RuncError`. */

export type RuncStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface RuncState {
  id: string;
  pid: number;
  status: RuncStatus;
  bundle: string;
  created: string;
  annotations?: Record<string, string>;
}

export interface RuncClientOptions {
  /** Private state directory (`runc --root`), so nothing collides with other runc users. */
  root: string;
  path?: string;
  runner?: ProcessRunner;
  timeoutMs?: number;
}

export interface KillOptions {
  /** Signal every process of the container, not only its init. */
  all?: boolean;
}

export interface DeleteOptions {
  /** Kill a running container before deleting it. */
  force?: boolean;
}

/** Argument arrays for each subcommand, global flags first. Pure, so tests check them directly. */
export const runcArgs = {
  global: (root: string): string[] => ['--root', root],
  state: (id: string): string[] => ['state', id],
  list: (): string[] => ['list', '--format', 'json'],
  start: (id: string): string[] => ['start', id],
  kill: (id: string, signal: string | number, options: KillOptions = {}): string[] => ['kill', ...(options.all ? ['--all'] : []), id, String(signal)],
  delete: (id: string, options: DeleteOptions = {}): string[] => ['delete', ...(options.force ? ['--force'] : []), id],
  pause: (id: string): string[] => ['pause', id],
  resume: (id: string): string[] => ['resume', id],
  /** `resources` is a file holding the OCI linux.resources object. */
  update: (id: string, resourcesFile: string): string[] => ['update', '--resources', resourcesFile, id],
  /** `process` is a file holding the OCI process object; runc writes the process's host pid to `pidFile`. */
  exec: (id: string, processFile: string, pidFile: string): string[] => ['exec', '--process', processFile, '--pid-file', pidFile, id],
  version: (): string[] => ['--version'],
};

/** runc exited non-zero: its exit code and stderr travel with the error. */
export class RuncError extends InternalError {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(`runc ${command} failed (exit ${exitCode}): ${runcMessage(stderr)}`, 'RuncFailed');
  }

  get containerMissing(): boolean {
    return /container\b.*\bdoes not exist/i.test(this.stderr);
  }

  get containerNotRunning(): boolean {
    return /not running|container is stopped|cannot .* stopped/i.test(this.stderr);
  }

  get containerPaused(): boolean {
    return /\bpaused\b/i.test(this.stderr);
  }

  /** NotFound or FailedPrecondition when runc says so, else this error (an InternalError). */
  toDomainError(id: string): DomainError {
    if (this.containerMissing) return new NotFoundError(`container ${id} not found: ${runcMessage(this.stderr)}`, 'ContainerNotFound');
    if (this.containerNotRunning) {
      return new FailedPreconditionError(`container ${id} is not running: ${runcMessage(this.stderr)}`, 'ContainerNotRunning');
    }
    return this;
  }
}

/** A RuncError as the domain error it amounts to; anything else as it is. */
export function asDomainError(err: unknown, id: string): unknown {
  return err instanceof RuncError ? err.toDomainError(id) : err;
}

/** For clean-ups: a container runc does not know is already gone; any other failure is rethrown. */
export function ignoreMissing(err: unknown): void {
  if (!(err instanceof RuncError && err.containerMissing)) throw err;
}

/** runc logs `time="…" level=error msg="…"`; keep the message, unescaped. */
export function runcMessage(stderr: string): string {
  const lines = stderr.trim().split('\n').filter(Boolean);
  const messages = lines.map((line) => {
    const match = /msg="((?:[^"\\]|\\.)*)"/.exec(line);
    if (!match) return line;
    try {
      return JSON.parse(`"${match[1]}"`) as string;
    } catch {
      return match[1];
    }
  });
  return messages.join('; ') || 'no output';
}

export class RuncClient {
  readonly path: string;
  readonly root: string;
  private readonly runner: ProcessRunner;
  private readonly timeoutMs?: number;

  constructor(options: RuncClientOptions) {
    this.path = options.path ?? '/usr/bin/runc';
    this.root = options.root;
    this.runner = options.runner ?? execFileRunner;
    this.timeoutMs = options.timeoutMs;
  }

  async state(id: string): Promise<RuncState> {
    return JSON.parse(await this.exec(runcArgs.state(id))) as RuncState;
  }

  /** The state, or undefined when runc does not know the container. */
  async stateIfExists(id: string): Promise<RuncState | undefined> {
    try {
      return await this.state(id);
    } catch (err) {
      if (err instanceof RuncError && err.containerMissing) return undefined;
      throw err;
    }
  }

  /**
   * `runc list` reads every state directory, and fails when one vanishes (a
   * container being deleted) between its readdir and its stat: such a failure is
   * tried again, a few times.
   */
  async list(): Promise<RuncState[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const out = (await this.exec(runcArgs.list())).trim();
        return out && out !== 'null' ? (JSON.parse(out) as RuncState[]) : [];
      } catch (err) {
        if (attempt >= 5 || !/no such file or directory/i.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 20 * attempt));
      }
    }
  }

  async start(id: string): Promise<void> {
    await this.exec(runcArgs.start(id));
  }

  async kill(id: string, signal: string | number, options?: KillOptions): Promise<void> {
    await this.exec(runcArgs.kill(id, signal, options));
  }

  async delete(id: string, options?: DeleteOptions): Promise<void> {
    await this.exec(runcArgs.delete(id, options));
  }

  /** Freezes every process of the container (cgroup freezer). */
  async pause(id: string): Promise<void> {
    await this.exec(runcArgs.pause(id));
  }

  async resume(id: string): Promise<void> {
    await this.exec(runcArgs.resume(id));
  }

  async update(id: string, resourcesFile: string): Promise<void> {
    await this.exec(runcArgs.update(id, resourcesFile));
  }

  /** `1.1.5+ds1` from `runc version 1.1.5+ds1`. */
  async version(): Promise<string> {
    const result = await this.runner.run(this.path, runcArgs.version(), { timeoutMs: this.timeoutMs });
    return /runc version (\S+)/.exec(result.stdout)?.[1] ?? result.stdout.split('\n')[0].trim();
  }

  private async exec(args: string[]): Promise<string> {
    const result = await this.runner.run(this.path, [...runcArgs.global(this.root), ...args], { timeoutMs: this.timeoutMs });
    if (result.exitCode !== 0) throw new RuncError(args[0], result.exitCode, result.stderr);
    return result.stdout;
  }
}
