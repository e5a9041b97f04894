import { Stats } from 'fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, rm, symlink, utimes } from 'fs/promises';
import * as path from 'path';
import type { Header } from 'tar-stream';
import { invalidLayer, unsafeLayerPath } from './image-errors';
import { layerPathComponents } from './layer-paths';
import { makeNode, makeWhiteout, markOpaque } from './special-files';
import { writeFully } from './streams';

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
/** Other `.wh..wh.` names are AUFS bookkeeping with no meaning for overlayfs. */
const AUFS_META_PREFIX = '.wh..wh.';

export type Warn = (message: string) => void;

/**
 * Writes the entries of one layer tar below `root`, never outside it: names are
 * resolved lexically, every existing parent is checked with lstat and refused if
 * it is a symlink (an earlier entry could have planted one), and an existing
 * final component is removed, never followed.
 */
export class LayerWriter {
  private readonly root: string;
  private readonly asRoot = process.getuid?.() === 0;
  private readonly directoryTimes: Array<{ dir: string; depth: number; mtime: Date }> = [];

  constructor(root: string, private readonly warn: Warn) {
    this.root = path.resolve(root);
  }

  async write(header: Header, content: AsyncIterable<Buffer>): Promise<void> {
    const parts = layerPathComponents(header.name);
    if (parts.length === 0) {
      if (header.type !== 'directory') throw unsafeLayerPath(`layer entry "${header.name}" would replace the layer root`);
      return this.applyDirectoryMetadata(this.root, 0, header);
    }
    const base = parts[parts.length - 1];
    const parent = await this.ensureParentDirs(parts, header.name);

    if (base === OPAQUE_MARKER) return markOpaque(parent);
    if (base.startsWith(AUFS_META_PREFIX)) return;
    if (base.startsWith(WHITEOUT_PREFIX)) return this.writeWhiteout(parent, base.slice(WHITEOUT_PREFIX.length), header.name);

    const target = path.join(parent, base);
    switch (header.type) {
      case 'directory':
        return this.writeDirectory(target, parts.length, header);
      case 'file':
      case 'contiguous-file':
        return this.writeFile(target, header, content);
      case 'symlink':
        return this.writeSymlink(target, header);
      case 'link':
        return this.writeHardLink(target, header);
      case 'character-device':
      case 'block-device':
      case 'fifo':
        return this.writeNode(target, header.type, header);
      default:
        this.warn(`skipping layer entry "${header.name}" of unsupported type ${header.type}`);
    }
  }

  /** Directory mtimes last, deepest first, since writing their children changed them. */
  async finish(): Promise<void> {
    const ordered = [...this.directoryTimes].sort((a, b) => b.depth - a.depth);
    for (const { dir, mtime } of ordered) await utimes(dir, mtime, mtime);
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
    await rm(target, { recursive: true, force: true });
    await makeWhiteout(target);
  }

  private async writeDirectory(target: string, depth: number, header: Header): Promise<void> {
    const existing = await lstatIfExists(target);
    if (existing && !existing.isDirectory()) await rm(target, { recursive: true, force: true });
    if (!existing?.isDirectory()) await mkdir(target, { mode: 0o700 });
    await this.applyDirectoryMetadata(target, depth, header);
  }

  private async applyDirectoryMetadata(dir: string, depth: number, header: Header): Promise<void> {
    await this.chown(dir, header);
    await chmod(dir, modeOf(header, 0o755));
    this.directoryTimes.push({ dir, depth, mtime: header.mtime ?? new Date(0) });
  }

  private async writeFile(target: string, header: Header, content: AsyncIterable<Buffer>): Promise<void> {
    await rm(target, { recursive: true, force: true });
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
    await rm(target, { recursive: true, force: true });
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
    await rm(target, { recursive: true, force: true });
    await link(source, target);
  }

  private async writeNode(target: string, kind: 'character-device' | 'block-device' | 'fifo', header: Header): Promise<void> {
    await rm(target, { recursive: true, force: true });
    try {
      await makeNode(target, kind, modeOf(header, 0o644), header.devmajor ?? 0, header.devminor ?? 0);
    } catch (err) {
      this.warn(`skipping ${kind} "${header.name}": ${(err as Error).message}`);
      return;
    }
    await this.chown(target, header);
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
