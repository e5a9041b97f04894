import { mkdtemp, rename } from 'fs/promises';
import * as path from 'path';
import { pathExists } from '../shared/path-exists';
import { digestHex } from './digests';
import { unpackLayer } from './layer-unpack';
import type { ManifestLayer } from './manifest-records';
import type { ImageStoreLayout } from './store-layout';
import { removeTree } from './tree-removal';

/** Layers unpacked from their blobs into layers/, the overlayfs lower dirs: one unpack per layer at a time. */
export class UnpackedLayers {
  private readonly unpacking = new Map<string, Promise<string>>();

  constructor(
    private readonly layout: ImageStoreLayout,
    private readonly warn: (message: string) => void,
  ) {}

  /** One unpack per layer at a time in this process; concurrent callers share it. */
  get(layer: ManifestLayer): Promise<string> {
    const key = layer.digest;
    let pending = this.unpacking.get(key);
    if (!pending) {
      pending = this.unpackOnce(layer).finally(() => this.unpacking.delete(key));
      this.unpacking.set(key, pending);
    }
    return pending;
  }

  /** Whether the layer of this blob digest is being unpacked now. */
  inProgress(digest: string): boolean {
    return this.unpacking.has(digest);
  }

  private async unpackOnce(layer: ManifestLayer): Promise<string> {
    const target = this.layout.layerPath(layer.digest);
    if (await pathExists(target)) return target;
    const scratch = await mkdtemp(path.join(this.layout.tmpDir, `layer-${digestHex(layer.digest).slice(0, 12)}-`));
    try {
      await unpackLayer(this.layout.blobPath(layer.digest), scratch, {
        expectedDigest: layer.digest,
        expectedDiffId: layer.diffId,
        warn: this.warn,
      });
      await rename(scratch, target).catch(async (err: NodeJS.ErrnoException) => {
        // Another process finished the same layer first; theirs is as good as ours.
        if ((err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') || !(await pathExists(target))) throw err;
        await removeTree(scratch);
      });
      return target;
    } catch (err) {
      await removeTree(scratch);
      throw err;
    }
  }
}
