import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkedId, isValidContainerId } from '../shared/container-id';

/**
 * Which containers' namespaces this worker made: a file per container under
 * `<stateDir>/namespaces`, written before the namespace is and removed after it
 * goes. With the attachment records, this is what a worker may clean up: several
 * workers (or test runs) can share a host, and none touches another's namespaces.
 */
export class NamespaceMarks {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'namespaces');
  }

  async mark(containerId: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(join(this.dir, checkedId(containerId)), '');
  }

  async unmark(containerId: string): Promise<void> {
    await rm(join(this.dir, checkedId(containerId)), { force: true });
  }

  async list(): Promise<string[]> {
    return (await readdir(this.dir).catch(() => [] as string[])).filter(isValidContainerId).sort();
  }
}
