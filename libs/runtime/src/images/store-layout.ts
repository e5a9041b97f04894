import { randomBytes } from 'crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'fs/promises';
import * as path from 'path';
import { digestHex } from './digests';
import { removeTree } from './tree-removal';

const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

/**
 * Where an image store keeps things:
 *
 *     <root>/blobs/sha256/<hex>            layers, configs and manifests, as loaded
 *     <root>/manifests/sha256/<hex>.json   one record per loaded image manifest
 *     <root>/layers/sha256/<blob-hex>/     unpacked layers (overlayfs lower dirs)
 *     <root>/tmp/                          spooled archives, blobs and layers in progress
 */
export class ImageStoreLayout {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get blobsDir() {
    return path.join(this.root, 'blobs', 'sha256');
  }
  get manifestsDir() {
    return path.join(this.root, 'manifests', 'sha256');
  }
  get layersDir() {
    return path.join(this.root, 'layers', 'sha256');
  }
  get tmpDir() {
    return path.join(this.root, 'tmp');
  }

  blobPath(digest: string): string {
    return path.join(this.blobsDir, digestHex(digest));
  }

  recordPath(digest: string): string {
    return path.join(this.manifestsDir, `${digestHex(digest)}.json`);
  }

  layerPath(digest: string): string {
    return path.join(this.layersDir, digestHex(digest));
  }

  /** The directories, and tmp/ swept of what a crash left there a day or more ago. */
  async create(): Promise<void> {
    for (const dir of [this.blobsDir, this.manifestsDir, this.layersDir]) await mkdir(dir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    await this.sweepStaleTemp();
  }

  /** Writes to tmp/, then renames into place: readers see the whole file or none. */
  async writeAtomically(target: string, data: Buffer): Promise<void> {
    const temp = path.join(this.tmpDir, `write-${randomBytes(8).toString('hex')}`);
    try {
      await writeFile(temp, data, { flag: 'wx' });
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  private async sweepStaleTemp(): Promise<void> {
    const now = Date.now();
    for (const name of await readdir(this.tmpDir)) {
      const entry = path.join(this.tmpDir, name);
      const info = await stat(entry).catch(() => undefined);
      if (!info || now - info.mtimeMs <= STALE_TEMP_MS) continue;
      // A half-unpacked layer may hold read-only directories.
      if (info.isDirectory()) await removeTree(entry);
      else await rm(entry, { force: true });
    }
  }
}
