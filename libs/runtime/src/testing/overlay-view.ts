import { execFile } from 'child_process';
import { Stats } from 'fs';
import { lstat, readdir, readlink } from 'fs/promises';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);

export interface MergedEntry {
  type: 'file' | 'directory' | 'symlink' | 'other';
  /** Index of the layer directory the entry comes from. */
  layer: number;
  /** The entry as that layer holds it (inode, link count, size, mode). */
  stat: Stats;
  linkname?: string;
}

/**
 * What overlayfs would show for these lower directories (bottom first),
 * computed without mounting: a 0/0 character device hides the path (and all
 * below it) in the layers beneath; a directory with `trusted.overlay.opaque=y`
 * hides what the layers beneath have inside it; a non-directory replaces what
 * was there. Keys are paths relative to the root, without a leading slash.
 */
export async function overlayView(layerDirs: string[]): Promise<Map<string, MergedEntry>> {
  const view = new Map<string, MergedEntry>();
  for (const [layer, dir] of layerDirs.entries()) {
    for (const { relative, stat } of await walk(dir)) {
      if (stat.isCharacterDevice() && stat.rdev === 0) {
        removeTree(view, relative);
        continue;
      }
      if (stat.isDirectory()) {
        const below = view.get(relative);
        if (below && below.type !== 'directory') view.delete(relative);
        if (await isOpaque(path.join(dir, relative))) removeTree(view, relative, false);
        view.set(relative, { type: 'directory', layer, stat });
        continue;
      }
      removeTree(view, relative);
      if (stat.isSymbolicLink()) view.set(relative, { type: 'symlink', layer, stat, linkname: await readlink(path.join(dir, relative)) });
      else view.set(relative, { type: stat.isFile() ? 'file' : 'other', layer, stat });
    }
  }
  return view;
}

export async function isOpaque(dir: string): Promise<boolean> {
  try {
    const { stdout } = await run('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', dir], { timeout: 10_000 });
    return stdout.trim() === 'y';
  } catch {
    return false;
  }
}

function removeTree(view: Map<string, MergedEntry>, relative: string, includingRoot = true): void {
  if (includingRoot) view.delete(relative);
  const prefix = `${relative}/`;
  for (const key of [...view.keys()]) if (key.startsWith(prefix)) view.delete(key);
}

/** Every entry below `root`, parents before their children. */
async function walk(root: string): Promise<Array<{ relative: string; stat: Stats }>> {
  const entries: Array<{ relative: string; stat: Stats }> = [];
  const visit = async (relative: string): Promise<void> => {
    const names = (await readdir(path.join(root, relative))).sort();
    for (const name of names) {
      const child = relative ? `${relative}/${name}` : name;
      const stat = await lstat(path.join(root, child));
      entries.push({ relative: child, stat });
      if (stat.isDirectory()) await visit(child);
    }
  };
  await visit('');
  return entries;
}
