import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DesiredState } from '@berth/domain';
import type { NetworkMetadata } from './container-networking';

/** What the worker remembers of a container, beyond what the runtime knows. */
export interface WorkerContainerState {
  /** The spec generation last converged to: older or repeated jobs are no-ops. */
  generation?: number;
  /** What the user last asked for: a container the user stopped is not restarted by its policy. */
  desired?: DesiredState;
  /** Restarts made under the restart policy since the user last started it. */
  restartCount: number;
  /** A kill suspended the restart policy until the next start (as docker kill does). */
  policySuspended?: boolean;
  /** Its names and networks, for its peers' /etc/hosts and for clean-up. */
  network?: NetworkMetadata;
}

/** Kept on disk, one small JSON file per container, so a restarted worker still knows. */
export class ContainerStateStore {
  constructor(private readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  async get(containerId: string): Promise<WorkerContainerState> {
    const text = await readFile(this.file(containerId), 'utf8').catch(() => undefined);
    return text === undefined ? { restartCount: 0 } : { restartCount: 0, ...(JSON.parse(text) as Partial<WorkerContainerState>) };
  }

  async update(containerId: string, patch: Partial<WorkerContainerState>): Promise<WorkerContainerState> {
    const next = { ...(await this.get(containerId)), ...patch };
    const tmp = `${this.file(containerId)}.tmp`;
    await writeFile(tmp, JSON.stringify(next));
    await rename(tmp, this.file(containerId));
    return next;
  }

  async delete(containerId: string): Promise<void> {
    await rm(this.file(containerId), { force: true });
  }

  async ids(): Promise<string[]> {
    return (await readdir(this.dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  }

  private file(containerId: string): string {
    if (!/^ctr_[0-9a-z]{26}$/.test(containerId)) throw new Error(`not a container id: ${containerId}`);
    return join(this.dir, `${containerId}.json`);
  }
}
