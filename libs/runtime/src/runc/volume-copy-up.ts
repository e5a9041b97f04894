import { constants, type Stats } from 'node:fs';
import { chmod, copyFile, lchown, link, lstat, lutimes, mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InternalError, InvalidArgumentError } from '@berth/domain';
import { makeNode, type NodeKind } from '../images/special-files';

/** Symlinks followed while resolving one path, as Linux allows (MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/**
 * Docker's volume copy-up. When `volumeDir` is empty, what `rootfs` holds at
 * `path` (a directory; symlinks on the way resolved inside `rootfs`, never on the
 * host) goes into it: files, directories, symlinks, hard links, fifos and device
 * nodes, with their owners, modes and times; the volume's own directory takes
 * those of the image's. Anything else at `path`, or nothing, copies nothing.
 *
 * The copy is made in a fresh directory beside `volumeDir` (on its filesystem, and
 * where no container sees it), then moved in entry by entry: a copy that fails
 * part way (a full disk, say) leaves the volume as it was, and nothing is written
 * through a path a running container could swap for a symlink meanwhile. What is
 * in the volume by then (another container wrote it) is kept, never replaced.
 */
export async function copyUp(rootfs: string, path: string, volumeDir: string): Promise<void> {
  const source = await resolveInRoot(rootfs, path);
  const top = await lstatIfExists(source);
  if (!top?.isDirectory() || !(await isEmpty(volumeDir))) return;
  const staging = await mkdtemp(join(dirname(volumeDir), '.copy-up-'));
  try {
    await copyChildren(source, staging, new Map());
    if (!(await isEmpty(volumeDir))) return;
    for (const name of await readdir(staging)) {
      if (!(await lstatIfExists(join(volumeDir, name)))) await rename(join(staging, name), join(volumeDir, name));
    }
    await setAttributes(volumeDir, top);
  } catch (err) {
    throw new InternalError(`copying the image’s ${path} into the volume failed: ${(err as Error).message}`, 'VolumeCopyUpFailed');
  } finally {
    await rm(staging, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * `path` inside `root`, with every symlink on the way resolved as if `root` were
 * `/` (an absolute link starts again at `root`, `..` never climbs above it), so
 * the answer always lies under `root`, as runc resolves mount targets. From the
 * first missing component on, the path stays as written.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const parts = (p: string) => p.split('/').filter((part) => part !== '' && part !== '.');
  let pending = parts(path);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const here = join(root, ...resolved, part);
    if (!(await lstatIfExists(here))?.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new InvalidArgumentError(`${path} has too many levels of symbolic links in the image`, [], 'SymlinkLoop');
    const target = await readlink(here);
    if (target.startsWith('/')) resolved.length = 0;
    pending = [...parts(target), ...pending];
  }
  return join(root, ...resolved);
}

/** Copies what `from` holds into the existing directory `to`; `inodes` maps files of several links to their first copy. */
async function copyChildren(from: string, to: string, inodes: Map<string, string>): Promise<void> {
  for (const name of await readdir(from)) {
    const [src, dst] = [join(from, name), join(to, name)];
    const stats = await lstat(src);
    if (stats.isSymbolicLink()) {
      await symlink(await readlink(src), dst);
      await lchown(dst, stats.uid, stats.gid);
      await lutimes(dst, stats.atime, stats.mtime);
      continue;
    }
    if (stats.isDirectory()) {
      await mkdir(dst, { mode: 0o700 });
      await copyChildren(src, dst, inodes);
    } else if (stats.isFile()) {
      const inode = `${stats.dev}:${stats.ino}`;
      const first = stats.nlink > 1 ? inodes.get(inode) : undefined;
      if (first) {
        await link(first, dst);
        continue;
      }
      await copyFile(src, dst, constants.COPYFILE_EXCL);
      if (stats.nlink > 1) inodes.set(inode, dst);
    } else {
      const kind = nodeKind(stats);
      if (!kind) continue; // a socket: nothing to copy, as with Docker
      await makeNode(dst, kind, stats.mode, deviceMajor(stats.rdev), deviceMinor(stats.rdev));
    }
    await setAttributes(dst, stats);
  }
}

/** Owner, then mode (a chown clears set-id bits), then times: after a directory's content, which changes its times. */
async function setAttributes(path: string, stats: Stats): Promise<void> {
  await lchown(path, stats.uid, stats.gid);
  await chmod(path, stats.mode & 0o7777);
  await utimes(path, stats.atime, stats.mtime);
}

function nodeKind(stats: Stats): NodeKind | undefined {
  if (stats.isFIFO()) return 'fifo';
  if (stats.isCharacterDevice()) return 'character-device';
  if (stats.isBlockDevice()) return 'block-device';
  return undefined;
}

/** glibc's dev_t layout (major(3), minor(3)). */
function deviceMajor(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}

function deviceMinor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

async function isEmpty(dir: string): Promise<boolean> {
  return (await readdir(dir)).length === 0;
}

async function lstatIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
