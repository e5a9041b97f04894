import { randomBytes } from 'crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'fs/promises';
import * as path from 'path';
import type { ImageConfigSummary, LoadedImage } from '@berth/domain';
import { InvalidArgumentError, isDigest, NotFoundError } from '@berth/domain';
import type { ResolvedImage } from '../container-runtime';
import { spoolArchive } from './archive-spool';
import { digestHex } from './digests';
import { isDockerSave, readDockerSave } from './docker-save-reader';
import { invalidArchive, missingBlobInStore } from './image-errors';
import { blobsOf, ImagePlan, imageSizeBytes, PlannedBlob, verifySpooled } from './image-plan';
import { unpackLayer } from './layer-unpack';
import { isOciLayout, readOciLayout } from './oci-layout-reader';
import { Platform } from './media-types';
import { openSource } from './streams';

export interface ImageStoreOptions {
  root: string;
  /** Which manifest to take from a multi-platform index; defaults to linux and this machine's architecture. */
  platform?: Platform;
  warn?: (message: string) => void;
}

/** What the store keeps per loaded manifest (`manifests/sha256/<hex>.json`). */
interface ManifestRecord {
  digest: string;
  mediaType: string;
  configDigest: string;
  sizeBytes: number;
  os: string;
  architecture: string;
  config: ImageConfigSummary;
  layers: Array<{ digest: string; size: number; mediaType: string; diffId: string }>;
}

/** A stored image as `list` reports it. */
export interface StoredImage {
  digest: string;
  sizeBytes: number;
  configDigest: string;
}

const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

/**
 * A content-addressed image store on one host:
 *
 *     <root>/blobs/sha256/<hex>            layers, configs and manifests, as loaded
 *     <root>/manifests/sha256/<hex>.json   one record per loaded image manifest
 *     <root>/layers/sha256/<blob-hex>/     unpacked layers (overlayfs lower dirs)
 *     <root>/tmp/                          spooled archives, blobs and layers in progress
 *
 * Everything appears in its final place by rename, after its digest was checked,
 * so a crash leaves only debris in tmp/ (swept by init once it is a day old).
 */
export class ImageStore {
  private readonly root: string;
  private readonly platform: Platform;
  private readonly warn: (message: string) => void;
  private readonly unpacking = new Map<string, Promise<string>>();
  private initialized?: Promise<void>;

  constructor(options: ImageStoreOptions) {
    this.root = path.resolve(options.root);
    this.platform = options.platform ?? { os: 'linux', architecture: goArchitecture(process.arch) };
    this.warn = options.warn ?? ((message) => process.emitWarning(message));
  }

  init(): Promise<void> {
    this.initialized ??= this.createLayout().catch((err) => {
      this.initialized = undefined;
      throw err;
    });
    return this.initialized;
  }

  async loadArchive(input: NodeJS.ReadableStream | string): Promise<LoadedImage[]> {
    await this.init();
    const spoolDir = await mkdtemp(path.join(this.root, 'tmp', 'load-'));
    try {
      const archive = await spoolArchive(openSource(input), spoolDir);
      let plans: ImagePlan[];
      if (isOciLayout(archive)) plans = await readOciLayout(archive, this.platform);
      else if (isDockerSave(archive)) plans = await readDockerSave(archive);
      else throw invalidArchive('the archive is neither an OCI image layout (oci-layout, index.json) nor a docker save (manifest.json)');

      for (const plan of plans) for (const blob of blobsOf(plan)) await this.checkBlob(blob);
      // Only now that every image checked out does anything leave tmp/.
      for (const plan of plans) {
        for (const blob of blobsOf(plan)) await this.commitBlob(blob);
        await this.writeRecord(plan);
      }
      return plans.map(loadedImage);
    } finally {
      await rm(spoolDir, { recursive: true, force: true });
    }
  }

  async resolve(digest: string): Promise<ResolvedImage> {
    await this.init();
    const record = await this.readRecord(digest);
    if (!record) throw new NotFoundError(`image ${digest} is not in this host's image store`, 'ImageNotFound');
    // Settle every layer before answering, so that no unpack is still running after a failure.
    const outcomes = await Promise.allSettled(record.layers.map((layer) => this.unpackedLayer(layer)));
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure) throw failure.reason;
    const layerDirs = outcomes.map((o) => (o as PromiseFulfilledResult<string>).value);
    return { digest: record.digest, config: record.config, layerDirs };
  }

  async has(digest: string): Promise<boolean> {
    await this.init();
    return isDigest(digest) && (await this.readRecord(digest)) !== undefined;
  }

  async list(): Promise<StoredImage[]> {
    await this.init();
    const names = await readdir(this.manifestsDir);
    const images: StoredImage[] = [];
    for (const name of names.filter((n) => /^[a-f0-9]{64}\.json$/.test(n)).sort()) {
      const record = await this.readRecord(`sha256:${name.slice(0, 64)}`);
      if (record) images.push({ digest: record.digest, sizeBytes: record.sizeBytes, configDigest: record.configDigest });
    }
    return images;
  }

  private get blobsDir() {
    return path.join(this.root, 'blobs', 'sha256');
  }
  private get manifestsDir() {
    return path.join(this.root, 'manifests', 'sha256');
  }
  private get layersDir() {
    return path.join(this.root, 'layers', 'sha256');
  }
  private get tmpDir() {
    return path.join(this.root, 'tmp');
  }

  private blobPath(digest: string): string {
    return path.join(this.blobsDir, digestHex(digest));
  }

  private async createLayout(): Promise<void> {
    for (const dir of [this.blobsDir, this.manifestsDir, this.layersDir]) await mkdir(dir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    await this.sweepStaleTemp();
  }

  private async sweepStaleTemp(): Promise<void> {
    const now = Date.now();
    for (const name of await readdir(this.tmpDir)) {
      const entry = path.join(this.tmpDir, name);
      const info = await stat(entry).catch(() => undefined);
      if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(entry, { recursive: true, force: true });
    }
  }

  private async checkBlob(blob: PlannedBlob): Promise<void> {
    if (blob.file) return verifySpooled(blob.file, blob.descriptor);
    if (blob.bytes) return;
    const stored = await stat(this.blobPath(blob.descriptor.digest)).catch(() => undefined);
    if (stored?.size !== blob.descriptor.size) throw missingBlobInStore(blob.descriptor.digest);
  }

  private async commitBlob(blob: PlannedBlob): Promise<void> {
    const target = this.blobPath(blob.descriptor.digest);
    if (await exists(target)) return;
    if (blob.file) {
      // Several images of one archive can share a spooled file: the first commit moves it.
      await rename(blob.file.path, target).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT' || !(await exists(target))) throw err;
      });
    } else if (blob.bytes) {
      await this.writeAtomically(target, blob.bytes);
    }
  }

  private async writeRecord(plan: ImagePlan): Promise<void> {
    const { manifest, config, parsedConfig, layers } = plan;
    const record: ManifestRecord = {
      digest: manifest.descriptor.digest,
      mediaType: manifest.descriptor.mediaType,
      configDigest: config.descriptor.digest,
      sizeBytes: imageSizeBytes(plan),
      os: parsedConfig.os,
      architecture: parsedConfig.architecture,
      config: parsedConfig.summary,
      layers: layers.map((layer, i) => ({ ...pickBlobFields(layer), diffId: parsedConfig.diffIds[i] })),
    };
    await this.writeAtomically(this.recordPath(record.digest), Buffer.from(JSON.stringify(record, null, 2)));
  }

  private recordPath(digest: string): string {
    return path.join(this.manifestsDir, `${digestHex(digest)}.json`);
  }

  private async readRecord(digest: string): Promise<ManifestRecord | undefined> {
    if (!isDigest(digest)) {
      throw new InvalidArgumentError(`"${digest}" is not an image digest (sha256:<64 hex digits>)`, [{ field: 'digest', message: 'must be sha256:<hex>' }], 'InvalidDigest');
    }
    try {
      return JSON.parse(await readFile(this.recordPath(digest), 'utf8')) as ManifestRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private async writeAtomically(target: string, data: Buffer): Promise<void> {
    const temp = path.join(this.tmpDir, `write-${randomBytes(8).toString('hex')}`);
    try {
      await writeFile(temp, data, { flag: 'wx' });
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** One unpack per layer at a time in this process; concurrent callers share it. */
  private unpackedLayer(layer: ManifestRecord['layers'][number]): Promise<string> {
    const key = layer.digest;
    let pending = this.unpacking.get(key);
    if (!pending) {
      pending = this.unpackOnce(layer).finally(() => this.unpacking.delete(key));
      this.unpacking.set(key, pending);
    }
    return pending;
  }

  private async unpackOnce(layer: ManifestRecord['layers'][number]): Promise<string> {
    const target = path.join(this.layersDir, digestHex(layer.digest));
    if (await exists(target)) return target;
    const scratch = await mkdtemp(path.join(this.tmpDir, `layer-${digestHex(layer.digest).slice(0, 12)}-`));
    try {
      await unpackLayer(this.blobPath(layer.digest), scratch, {
        expectedDigest: layer.digest,
        expectedDiffId: layer.diffId,
        warn: this.warn,
      });
      await rename(scratch, target).catch(async (err: NodeJS.ErrnoException) => {
        // Another process finished the same layer first; theirs is as good as ours.
        if ((err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') || !(await exists(target))) throw err;
        await rm(scratch, { recursive: true, force: true });
      });
      return target;
    } catch (err) {
      await rm(scratch, { recursive: true, force: true });
      throw err;
    }
  }
}

function loadedImage(plan: ImagePlan): LoadedImage {
  return {
    references: plan.references,
    digest: plan.manifest.descriptor.digest,
    configDigest: plan.config.descriptor.digest,
    sizeBytes: imageSizeBytes(plan),
    config: plan.parsedConfig.summary,
    os: plan.parsedConfig.os,
    architecture: plan.parsedConfig.architecture,
  };
}

function pickBlobFields(blob: PlannedBlob) {
  const { digest, size, mediaType } = blob.descriptor;
  return { digest, size, mediaType };
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** Node's process.arch spelled the way OCI platforms (Go's GOARCH) spell it. */
function goArchitecture(arch: string): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return names[arch] ?? arch;
}
