import { readFile, rename, writeFile } from 'node:fs/promises';
import { NotFoundError, type ContainerSpec } from '@berth/domain';
import type { ResolvedImage } from '../container-runtime';
import type { StateLayout } from './state-layout';

/** What the runtime keeps beside a container (meta.json), so any instance over the same root can describe it. */
export interface ContainerMeta {
  id: string;
  spec: ContainerSpec;
  image: ResolvedImage;
  metadata: Record<string, unknown>;
  /** The signal `stop` sends first (the image's STOPSIGNAL, else SIGTERM). */
  stopSignal: string;
  createdAt: string;
  /** The latest start; each start of an exited container replaces it. */
  startedAt?: string;
  /** The run (its startedAt) the OOM killer struck, recorded from the cgroup when the exit is seen. */
  oomKilledRun?: string;
}

export class ContainerMetaStore {
  constructor(private readonly layout: StateLayout) {}

  async read(id: string): Promise<ContainerMeta> {
    let text: string;
    try {
      text = await readFile(this.layout.file(id, 'meta.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(id);
      throw err;
    }
    return JSON.parse(text) as ContainerMeta;
  }

  async exists(id: string): Promise<boolean> {
    try {
      await this.read(id);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  /** Writes through a temporary file and a rename, so readers never see half a file. */
  async write(meta: ContainerMeta): Promise<void> {
    const path = this.layout.file(meta.id, 'meta.json');
    await writeFile(`${path}.tmp`, JSON.stringify(meta, null, 2));
    await rename(`${path}.tmp`, path);
  }
}

export function notFound(id: string): NotFoundError {
  return new NotFoundError(`container ${id} not found`, 'ContainerNotFound');
}
