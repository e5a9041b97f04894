import { UnavailableError } from '@berth/domain';
import type { ContainerInfo } from '../container-runtime';
import { isValidContainerId } from '../shared/container-id';
import { pathExists } from '../shared/path-exists';
import { isLive, type ContainerStatusReader } from './container-status';
import { ExitWatcher } from './exit-watcher';
import type { StateLayout } from './state-layout';

/**
 * Exits as they happen: conmon's exit files watched, each run's exit reported
 * once to the listeners (not while the container is being removed), and the
 * waits for an exit that wake on the file's event or poll.
 */
export class ExitReports {
  private readonly watcher: ExitWatcher;
  private readonly listeners = new Set<(info: ContainerInfo) => void>();
  /** The start (startedAt) whose exit was last reported, per container: one report per run. */
  private readonly reportedRuns = new Map<string, string>();
  private readonly removing = new Set<string>();

  constructor(
    private readonly layout: StateLayout,
    private readonly status: ContainerStatusReader,
    private readonly prepare: () => Promise<void>,
    /** Aborted when the runtime closes: every wait ends. */
    private readonly closing: AbortSignal,
  ) {
    this.watcher = new ExitWatcher(layout.exits);
    this.watcher.on((event) => void this.report(event.id));
  }

  onExit(listener: (info: ContainerInfo) => void): () => void {
    this.listeners.add(listener);
    this.watch();
    return () => this.listeners.delete(listener);
  }

  async wait(id: string, signal?: AbortSignal): Promise<ContainerInfo> {
    this.watch();
    const stop = signal ? AbortSignal.any([signal, this.closing]) : this.closing;
    // Ends when the container stops running, or on abort: waiting for a container has no deadline of its own.
    for (;;) {
      const info = await this.status.inspect(id);
      if (!isLive(info)) return info;
      if (stop.aborted) throw new UnavailableError(`stopped waiting for container ${id}`, 'WaitAborted');
      await this.exitEventOrTimeout(id, 1000, stop);
    }
  }

  async waitForExitFile(id: string, timeoutMs: number): Promise<boolean> {
    this.watch();
    const deadline = Date.now() + timeoutMs;
    for (let round = 0; round < 10_000; round++) {
      if (await pathExists(this.layout.exitFile(id))) return true;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      await this.exitEventOrTimeout(id, Math.min(remaining, 200), this.closing);
    }
    return false;
  }

  /** A container being removed is killed on the way out: not an exit to report. */
  beginRemoval(id: string): void {
    this.removing.add(id);
  }

  endRemoval(id: string): void {
    this.removing.delete(id);
  }

  /** The container is gone: a container of the same id later starts with no reported runs. */
  forget(id: string): void {
    this.reportedRuns.delete(id);
  }

  stop(): void {
    this.watcher.stop();
    this.listeners.clear();
  }

  /** Resolves on the next exit-file event for the container, after `ms`, or on abort. */
  private exitEventOrTimeout(id: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        unsubscribe();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const unsubscribe = this.watcher.on((event) => event.id === id && done());
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private watch(): void {
    if (this.closing.aborted) return;
    this.prepare()
      .then(() => this.watcher.start())
      .catch(() => undefined); // without a watcher the waits still poll
  }

  private async report(id: string): Promise<void> {
    if (!isValidContainerId(id) || this.removing.has(id)) return;
    const info = await this.status.inspect(id).catch(() => undefined);
    if (!info || info.status !== 'exited' || this.removing.has(id)) return;
    const run = info.startedAt ?? info.createdAt;
    if (this.reportedRuns.get(id) === run) return;
    this.reportedRuns.set(id, run);
    for (const listener of [...this.listeners]) {
      try {
        listener(info);
      } catch {
        // One listener's failure must not keep the others from hearing of the exit.
      }
    }
  }
}
