import { mkdtemp, readdir, rm } from 'fs/promises';
import { tmpdir } from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import * as tar from 'tar-stream';
import { packTar, TarEntry } from '../images/tar-pack';

/** Every regular file of an in-memory tar, by name, in archive order. */
export async function readTarFiles(archive: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  Readable.from([archive]).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
    if (entry.header.type === 'file') files.set(entry.header.name, Buffer.concat(chunks));
  }
  return files;
}

/** Packs files (no directory entries) into a tar, in the order given. */
export function packFiles(files: Map<string, Buffer>): Promise<Buffer> {
  return packTar([...files].map(([name, content]): TarEntry => ({ header: { name, type: 'file', mtime: new Date(0) }, content })));
}

export function blobName(digest: string): string {
  return `blobs/sha256/${digest.replace('sha256:', '')}`;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- specs read the documents of an archive field by field
export function parseJson<T = any>(data: Buffer | undefined): T {
  if (!data) throw new Error('missing file');
  return JSON.parse(data.toString('utf8')) as T;
}

/** Flips one byte in the middle of `part`, found inside `archive`; returns a copy. */
export function flipByteOf(archive: Buffer, part: Buffer): Buffer {
  const offset = archive.indexOf(part);
  if (offset < 0 || part.length === 0) throw new Error('part not found in archive');
  const copy = Buffer.from(archive);
  copy[offset + Math.floor(part.length / 2)] ^= 0xff;
  return copy;
}

export async function makeTempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function listFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

export const isRoot = process.getuid?.() === 0;
