import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import type { Logger } from 'pino';
import { HostInfo, InventoryEntry } from '@berth/domain';
import type { ContainerRuntime } from '@berth/runtime';
import { ContainerStateStore } from './container-state-store';
import { Reporter, observedFrom } from './reporter';

export const WORKER_VERSION = readVersion();

/**
 * Registers the host and keeps it alive: a heartbeat every few seconds. The first
 * one carries the full inventory, so the API corrects any drift after a restart.
 */
export class HostHeartbeat {
  private timer?: NodeJS.Timeout;
  private info?: HostInfo;

  constructor(
    private readonly hostName: string,
    private readonly runtime: ContainerRuntime,
    private readonly states: ContainerStateStore,
    private readonly reporter: Reporter,
    private readonly intervalMs: number,
    private readonly log: Logger,
    /** Facts about this host the API needs (where volumes live, the overlay address, the key logins are sealed to). */
    private readonly layout: Pick<HostInfo, 'volumesDir' | 'overlayAddress' | 'sealingKey'> = {},
  ) {}

  async start(): Promise<void> {
    const versions = await this.runtime.versions();
    this.info = {
      name: this.hostName,
      cpus: cpus().length,
      memoryBytes: totalmem(),
      kernel: release(),
      os: 'linux',
      arch: process.arch === 'x64' ? 'amd64' : process.arch,
      runtime: this.runtime.name,
      runcVersion: versions.runc ?? 'unknown',
      conmonVersion: versions.conmon ?? 'unknown',
      cgroupVersion: versions.cgroupVersion === '2' ? 2 : 1,
      workerVersion: WORKER_VERSION,
      startedAt: new Date().toISOString(),
      ...this.layout,
    };
    await this.reporter.heartbeat(this.info, await this.inventory());
    this.timer = setInterval(() => {
      this.reporter.heartbeat(this.info!).catch((err) => this.log.warn({ err: err.message }, 'heartbeat failed'));
    }, this.intervalMs);
  }

  private async inventory(): Promise<InventoryEntry[]> {
    const containers = await this.runtime.list();
    const out: InventoryEntry[] = [];
    for (const c of containers) {
      out.push({ containerId: c.id, seq: this.reporter.nextSeq(), observed: observedFrom(c, await this.states.get(c.id)) });
    }
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

function readVersion(): string {
  for (const p of ['../../../../../package.json', '../../../package.json']) {
    try {
      return JSON.parse(readFileSync(require.resolve(p), 'utf8')).version;
    } catch {
      // try the next layout (built or from source)
    }
  }
  return '0.0.0';
}
