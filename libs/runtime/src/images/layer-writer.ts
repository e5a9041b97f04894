import { Stats } from 'fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, rm, symlink, utimes } from 'fs/promises';
import * as path from 'path';
import type { Header } from 'tar-stream';
import { FailedPreconditionError } from '@berth/domain';
import { invalidLayer, unsafeLayerPath } from './image-errors';
import { layerPathComponents } from './layer-paths';
import { makeNode, makeWhiteout, markOpaque, setXattrs, XattrTarget } from './special-files';
import { writeFully } from './streams';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
/** Other `.wh..wh.` names are AUFS bookkeeping with no meaning for overlayfs. */
const AUFS_META_PREFIX = '.wh..wh.';

/** Linux's XATTR_SIZE_MAX and XATTR_NAME_MAX. */
const XATTR_VALUE_MAX = 64 * 1024;
const XATTR_NAME_MAX = 255;
/** The namespaces overlayfs and containers use, with plain names only (they go into setfattr's dump format as they are). */
const XATTR_NAME = /^(?:user|security|trusted)\.[\w.:@+-]+$/;
/** overlayfs's own metadata (opaque directories, redirects, ...; `user.overlay.*` with `userxattr`): a layer must not forge it. */
const OVERLAY_XATTR = /^(?:trusted|user)\.overlay\./;
/**
 * How a filesystem says it cannot or may not keep an attribute: no xattr support
 * (ENOTSUP), a namespace the caller may not write or that a symlink or device
 * cannot carry (EPERM), a read-only file when not root (EACCES), no room for the
 * value (ENOSPC, E2BIG: ext4 keeps a value within one block unless ea_inode is on).
 */
const XATTR_REFUSALS = new Set([
  'Operation not supported',
  'Operation not permitted',
  'Permission denied',
  'No space left on device',
  'Argument list too long',
]);
/** Queued attributes are set once this many value bytes or attributes wait. */
const XATTR_BATCH_BYTES = 1024 * 1024;
const XATTR_BATCH_COUNT = 4096;

export type Warn = (message: string) => void;

/** An entry's extended attributes by name, from its PAX `SCHILY.xattr.<name>` records. */
export type EntryXattrs = ReadonlyMap<string, Buffer>;

const NO_XATTRS: EntryXattrs = new Map();

/**
 * Writes the entries of one layer tar below `root`, never outside it: names are
 * resolved lexically, every existing parent is checked with lstat and refused if
 * it is a symlink (an earlier entry could have planted one), and an existing
 * final component is removed, never followed.
 *
 * Extended attributes are set where the filesystem allows: what it refuses, and
 * names outside the kernel namespaces containers use, are left out with one
 * warning per layer.
 */
export class LayerWriter {
  private readonly root: string;
  private readonly asRoot = process.getuid?.() === 0;
  private readonly directoryTimes: Array<{ dir: string; depth: number; mtime: Date }> = [];
  private readonly xattrQueue = new XattrQueue();
  private readonly skippedXattrs = new Tally();
  private readonly refusedXattrs = new Tally();

  constructor(
    root: string,
    private readonly warn: Warn,
  ) {
    this.root = path.resolve(root);
  }

  async write(header: Header, content: AsyncIterable<Buffer>, xattrs: EntryXattrs = NO_XATTRS): Promise<void> {
    const wanted = this.selectXattrs(header.name, xattrs);
    const parts = layerPathComponents(header.name);
    if (parts.length === 0) {
      if (header.type !== 'directory') throw unsafeLayerPath(`layer entry "${header.name}" would replace the layer root`);
      await this.applyDirectoryMetadata(this.root, 0, header);
      return this.queueXattrs(this.root, wanted);
    }
    const base = parts[parts.length - 1];
    const parent = await this.ensureParentDirs(parts, header.name);

    if (base === OPAQUE_MARKER) return markOpaque(parent);
    if (base.startsWith(AUFS_META_PREFIX)) return;
    if (base.startsWith(WHITEOUT_PREFIX)) return this.writeWhiteout(parent, base.slice(WHITEOUT_PREFIX.length), header.name);

    const target = path.join(parent, base);
    switch (header.type) {
      case 'directory':
        await this.writeDirectory(target, parts.length, header);
        break;
      case 'file':
      case 'contiguous-file':
        await this.writeFile(target, header, content);
        break;
      case 'symlink':
        await this.writeSymlink(target, header);
        break;
      case 'link':
        await this.writeHardLink(target, header);
        break;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        if (!(await this.writeNode(target, header.type, header))) return;
        break;
      default:
        this.warn(`skipping layer entry "${header.name}" of unsupported type ${header.type}`);
        return;
    }
    await this.queueXattrs(target, wanted);
  }

  /** Queued xattrs first; directory mtimes last, deepest first, since writing their children changed them. */
  async finish(): Promise<void> {
    await this.flushXattrs();
    const ordered = [...this.directoryTimes].sort((a, b) => b.depth - a.depth);
    for (const { dir, mtime } of ordered) await utimes(dir, mtime, mtime);
    if (this.skippedXattrs.count > 0) {
      this.warn(
        `skipped ${this.skippedXattrs.count} extended attribute(s) of this layer that are outside the user., security. and trusted. ` +
          `namespaces, belong to overlayfs or have unusual names: ${this.skippedXattrs}`,
      );
    }
    if (this.refusedXattrs.count > 0) {
      this.warn(`the filesystem refused ${this.refusedXattrs.count} extended attribute(s) of this layer, which were left out: ${this.refusedXattrs}`);
    }
  }

  /** The entry's attributes to set; a value Linux could never hold makes the layer invalid. */
  private selectXattrs(entry: string, xattrs: EntryXattrs): Array<[string, Buffer]> {
    const wanted: Array<[string, Buffer]> = [];
    for (const [name, value] of xattrs) {
      if (value.length > XATTR_VALUE_MAX) {
        throw invalidLayer(
          `layer entry "${entry}" carries the extended attribute ${JSON.stringify(name)} of ${value.length} bytes; Linux allows ${XATTR_VALUE_MAX}`,
        );
      }
      if (XATTR_NAME.test(name) && name.length <= XATTR_NAME_MAX && !OVERLAY_XATTR.test(name)) wanted.push([name, value]);
      else this.skippedXattrs.add(`"${entry}" ${JSON.stringify(name)}`);
    }
    return wanted;
  }

  private async queueXattrs(target: string, xattrs: Array<[string, Buffer]>): Promise<void> {
    if (xattrs.length > 0 && this.xattrQueue.add(target, xattrs)) await this.flushXattrs();
  }

  private async flushXattrs(): Promise<void> {
    for (const { file, reason } of await setXattrs(this.xattrQueue.take())) {
      const name = path.relative(this.root, file) || '.';
      if (XATTR_REFUSALS.has(reason)) this.refusedXattrs.add(`"${name}" (${reason})`);
      else if (reason === 'Invalid argument') throw invalidLayer(`the kernel rejected an extended attribute of layer entry "${name}" as invalid`);
      else throw new FailedPreconditionError(`cannot set the extended attributes of "${name}": ${reason}`, 'XattrFailed');
    }
  }

  /** Removes whatever is at `target`; attributes queued for anything there are set first, as if they had been set at once. */
  private async remove(target: string): Promise<void> {
    if (this.xattrQueue.covers(target)) await this.flushXattrs();
    await rm(target, { recursive: true, force: true });
  }

  private async ensureParentDirs(parts: string[], name: string): Promise<string> {
    let current = this.root;
    for (const part of parts.slice(0, -1)) {
      current = path.join(current, part);
      const stat = await lstatIfExists(current);
      if (!stat) {
        await mkdir(current, { mode: 0o755 });
        await chmod(current, 0o755);
      } else if (stat.isSymbolicLink()) {
        throw unsafeLayerPath(`layer entry "${name}" would be written through the symlink "${path.relative(this.root, current)}"`);
      } else if (!stat.isDirectory()) {
        throw invalidLayer(`layer entry "${name}" needs "${path.relative(this.root, current)}" to be a directory`);
      }
    }
    return current;
  }

  private async writeWhiteout(parent: string, hidden: string, name: string): Promise<void> {
    if (hidden === '' || hidden === '.' || hidden === '..') throw unsafeLayerPath(`whiteout "${name}" names no entry`);
    const target = path.join(parent, hidden);
    await this.remove(target);
    await makeWhiteout(target);
  }

  private async writeDirectory(target: string, depth: number, header: Header): Promise<void> {
    const existing = await lstatIfExists(target);
    if (existing && !existing.isDirectory()) await this.remove(target);
    if (!existing?.isDirectory()) await mkdir(target, { mode: 0o700 });
    await this.applyDirectoryMetadata(target, depth, header);
  }

  private async applyDirectoryMetadata(dir: string, depth: number, header: Header): Promise<void> {
    await this.chown(dir, header);
    await chmod(dir, modeOf(header, 0o755));
    this.directoryTimes.push({ dir, depth, mtime: header.mtime ?? new Date(0) });
  }

  private async writeFile(target: string, header: Header, content: AsyncIterable<Buffer>): Promise<void> {
    await this.remove(target);
    // O_EXCL: if anything appeared at the path meanwhile, fail instead of following it.
    const file = await open(target, 'wx', 0o600);
    try {
      for await (const chunk of content) await writeFully(file, chunk);
      if (this.asRoot) await file.chown(header.uid ?? 0, header.gid ?? 0);
      await file.chmod(modeOf(header, 0o644));
      const mtime = header.mtime ?? new Date(0);
      await file.utimes(mtime, mtime);
    } finally {
      await file.close();
    }
  }

  private async writeSymlink(target: string, header: Header): Promise<void> {
    if (!header.linkname) throw invalidLayer(`symlink "${header.name}" has no target`);
    await this.remove(target);
    // The target may point anywhere: it is resolved inside the container, not here.
    await symlink(header.linkname, target);
    await this.chown(target, header);
    const mtime = header.mtime ?? new Date(0);
    await lutimes(target, mtime, mtime);
  }

  private async writeHardLink(target: string, header: Header): Promise<void> {
    if (!header.linkname) throw invalidLayer(`hard link "${header.name}" has no target`);
    const sourceParts = layerPathComponents(header.linkname);
    if (sourceParts.length === 0) throw unsafeLayerPath(`hard link "${header.name}" points at the layer root`);
    const source = path.join(this.root, ...sourceParts);
    await this.assertNoSymlinkParents(sourceParts, header.name);
    const stat = await lstatIfExists(source);
    if (!stat) throw invalidLayer(`hard link "${header.name}" points at "${header.linkname}", which the layer does not contain (yet)`);
    if (stat.isDirectory()) throw invalidLayer(`hard link "${header.name}" points at a directory`);
    if (source === target) return;
    await this.remove(target);
    await link(source, target);
  }

  /** Whether the node was made: without CAP_MKNOD devices are skipped. */
  private async writeNode(target: string, kind: 'character-device' | 'block-device' | 'fifo', header: Header): Promise<boolean> {
    await this.remove(target);
    try {
      await makeNode(target, kind, modeOf(header, 0o644), header.devmajor ?? 0, header.devminor ?? 0);
    } catch (err) {
      this.warn(`skipping ${kind} "${header.name}": ${(err as Error).message}`);
      return false;
    }
    await this.chown(target, header);
    return true;
  }

  private async assertNoSymlinkParents(parts: string[], name: string): Promise<void> {
    let current = this.root;
    for (const part of parts.slice(0, -1)) {
      current = path.join(current, part);
      const stat = await lstatIfExists(current);
      if (stat?.isSymbolicLink()) {
        throw unsafeLayerPath(`hard link "${name}" would resolve through the symlink "${path.relative(this.root, current)}"`);
      }
      if (!stat?.isDirectory()) throw invalidLayer(`hard link "${name}" points below "${path.relative(this.root, current)}", which is not a directory`);
    }
  }

  private async chown(target: string, header: Header): Promise<void> {
    if (this.asRoot) await lchown(target, header.uid ?? 0, header.gid ?? 0);
  }
}

/**
 * Attributes wait here so that one setfattr process sets many of them. A queued
 * path keeps meaning what it meant when queued: the writer flushes before it
 * removes anything at or above one, and nothing else replaces a path. Waiting
 * changes nothing else either: every entry is chowned (which clears
 * security.capability) before it is queued, while chmod keeps the attribute and
 * setxattr leaves mtimes alone.
 */
class XattrQueue {
  private targets: XattrTarget[] = [];
  private readonly files = new Set<string>();
  /** Every directory above a queued path. */
  private readonly parents = new Set<string>();
  private bytes = 0;
  private count = 0;

  /** Queues, and says whether the batch is big enough to set now. */
  add(file: string, xattrs: Array<[string, Buffer]>): boolean {
    this.targets.push({ file, xattrs });
    this.files.add(file);
    for (let dir = path.dirname(file); !this.parents.has(dir); dir = path.dirname(dir)) this.parents.add(dir);
    for (const [, value] of xattrs) this.bytes += value.length;
    this.count += xattrs.length;
    return this.bytes >= XATTR_BATCH_BYTES || this.count >= XATTR_BATCH_COUNT;
  }

  /** Whether removing `target` would take a queued path with it. */
  covers(target: string): boolean {
    return this.files.has(target) || this.parents.has(target);
  }

  take(): XattrTarget[] {
    const targets = this.targets;
    this.targets = [];
    this.files.clear();
    this.parents.clear();
    this.bytes = 0;
    this.count = 0;
    return targets;
  }
}

/** Counts what a warning is about and keeps the first few as examples. */
class Tally {
  count = 0;
  private readonly examples: string[] = [];

  add(example: string): void {
    if (this.count++ < 3) this.examples.push(example);
  }

  toString(): string {
    const more = this.count - this.examples.length;
    return this.examples.join(', ') + (more > 0 ? ` and ${more} more` : '');
  }
}

function modeOf(header: Header, fallback: number): number {
  return header.mode === undefined ? fallback : header.mode & 0o7777;
}

async function lstatIfExists(file: string): Promise<Stats | undefined> {
  try {
    return await lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
