import { createHash } from 'crypto';
import { open, readFile, rm } from 'fs/promises';
import * as path from 'path';
import { Readable } from 'stream';
import * as tar from 'tar-stream';
import { DomainError } from '@berth/domain';
import { invalidArchive } from './image-errors';
import { decompressed, isCorruptInputError, writeFully } from './streams';

/** One regular file of an image archive, copied to disk and hashed on the way. */
export interface SpooledFile {
  name: string;
  path: string;
  size: number;
  digest: string;
}

const MAX_LINK_HOPS = 16;

/**
 * The entries of an image archive (tar or tar.gz) written to a private directory
 * under numbered names, so that nothing in the archive chooses where its bytes
 * land. Names inside the archive are only keys.
 */
export class SpooledArchive {
  constructor(
    private readonly files: Map<string, SpooledFile>,
    private readonly links: Map<string, string>,
  ) {}

  get(name: string): SpooledFile | undefined {
    let key = normalizeArchiveName(name);
    for (let hops = 0; hops < MAX_LINK_HOPS; hops++) {
      const file = this.files.get(key);
      if (file) return file;
      const target = this.links.get(key);
      if (target === undefined) return undefined;
      key = target;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  async readJson(name: string, maxBytes: number): Promise<unknown> {
    const file = this.get(name);
    if (!file) throw invalidArchive(`the archive has no ${name}`);
    return readSpooledJson(file, maxBytes);
  }
}

export async function readSpooledJson(file: SpooledFile, maxBytes: number): Promise<unknown> {
  if (file.size > maxBytes) throw invalidArchive(`${file.name} is larger than ${maxBytes} bytes`);
  try {
    return JSON.parse(await readFile(file.path, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw invalidArchive(`${file.name} is not valid JSON: ${err.message}`);
    throw err;
  }
}

export function normalizeArchiveName(name: string): string {
  return path.posix.normalize(`/${name}`).slice(1).replace(/\/$/, '');
}

export async function spoolArchive(input: Readable, dir: string): Promise<SpooledArchive> {
  const files = new Map<string, SpooledFile>();
  const links = new Map<string, string>();
  const extract = tar.extract();
  let source: Readable | undefined;
  let counter = 0;
  try {
    source = (await decompressed(input)).stream;
    source.on('error', (err) => extract.destroy(err));
    source.pipe(extract);
    for await (const entry of extract) {
      const { header } = entry;
      const name = normalizeArchiveName(header.name);
      if (header.type === 'file' || header.type === 'contiguous-file') {
        const spooled = await spoolEntry(entry as AsyncIterable<Buffer>, name, path.join(dir, String(counter++)));
        const replaced = files.get(name);
        if (replaced) await rm(replaced.path, { force: true });
        files.set(name, spooled);
        links.delete(name);
      } else if ((header.type === 'symlink' || header.type === 'link') && header.linkname) {
        const target = header.type === 'symlink' ? path.posix.join(path.posix.dirname(name), header.linkname) : header.linkname;
        links.set(name, normalizeArchiveName(target));
        entry.resume();
      } else {
        entry.resume();
      }
    }
  } catch (err) {
    source?.destroy();
    input.destroy();
    if (err instanceof DomainError || !isCorruptInputError(err)) throw err;
    throw invalidArchive(`the image archive is not a readable tar: ${(err as Error).message}`);
  }
  return new SpooledArchive(files, links);
}

async function spoolEntry(entry: AsyncIterable<Buffer>, name: string, file: string): Promise<SpooledFile> {
  const hash = createHash('sha256');
  let size = 0;
  const handle = await open(file, 'wx', 0o600);
  try {
    for await (const chunk of entry) {
      hash.update(chunk);
      size += chunk.length;
      await writeFully(handle, chunk);
    }
  } finally {
    await handle.close();
  }
  return { name, path: file, size, digest: `sha256:${hash.digest('hex')}` };
}
