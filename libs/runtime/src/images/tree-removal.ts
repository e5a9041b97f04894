import { chmod, lstat, readdir, rm } from 'fs/promises';
import * as path from 'path';

/**
 * Removes a directory tree that may contain read-only or inaccessible
 * directories (layers keep their images' modes, e.g. 0555 or 0000): every
 * directory is made accessible to its owner first. Returns the bytes its
 * regular files held, hard-linked ones counted once. Symlinks are never followed.
 */
export async function removeTree(root: string): Promise<number> {
  const seen = new Set<string>();
  let bytes = 0;
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    await chmod(dir, 0o700).catch(ignoreMissing);
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    for (const name of names) {
      const entry = path.join(dir, name);
      const info = await lstat(entry).catch(() => undefined);
      if (!info) continue;
      if (info.isDirectory()) {
        pending.push(entry);
      } else if (info.isFile()) {
        const inode = `${info.dev}:${info.ino}`;
        if (!seen.has(inode)) bytes += info.size;
        seen.add(inode);
      }
    }
  }
  await rm(root, { recursive: true, force: true });
  return bytes;
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
