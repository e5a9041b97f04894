import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The spec generation each container was last converged to, kept on disk so a
 * restarted worker still treats replayed jobs as no-ops.
 */
export class GenerationStore {
  constructor(private readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  async get(containerId: string): Promise<number | undefined> {
    const text = await readFile(this.file(containerId), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : Number(JSON.parse(text).generation);
  }

  async set(containerId: string, generation: number): Promise<void> {
    const tmp = `${this.file(containerId)}.tmp`;
    await writeFile(tmp, JSON.stringify({ generation }));
    await rename(tmp, this.file(containerId));
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
