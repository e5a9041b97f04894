import { randomBytes } from 'crypto';
import { mkdtemp, readdir, readFile, rename, rm, stat, unlink } from 'fs/promises';
import * as path from 'path';
import { Readable } from 'stream';
import type { ImageHistoryEntry, LoadedImage } from '@berth/domain';
import { InvalidArgumentError, isDigest, normalizeImageReference } from '@berth/domain';
import type { ResolvedImage } from '../container-runtime';
import { pathExists } from '../shared/path-exists';
import { SharedExclusiveLock } from '../shared/shared-exclusive-lock';
import { spoolArchive } from './archive-spool';
import { BlobPins } from './blob-pins';
import { isDockerSave, readDockerSave } from './docker-save-reader';
import { imageHistory } from './image-config';
import { invalidArchive, missingBlobInStore, storeLacksBlob } from './image-errors';
import { ExportedBlob, ExportedImage, writeImageArchive } from './image-export';
import { blobsOf, ImagePlan, loadedImage, MAX_JSON_BLOB_BYTES, PlannedBlob, verifySpooled } from './image-plan';
import { checkedDigest, ManifestRecords, type ManifestRecord } from './manifest-records';
import { Platform } from './media-types';
import { isOciLayout, readOciLayout } from './oci-layout-reader';
import { defaultPlatform } from './platform';
import { BlobStaging, PullOptions, pullImage, StoreAccess } from './registry/pull';
import { PushResult, pushImage } from './registry/push';
import type { RegistryClient } from './registry/registry-client';
import { ImageStoreLayout } from './store-layout';
import { openSource } from './streams';
import { removeTree } from './tree-removal';
import { UnpackedLayers } from './unpacked-layers';

export type { ImageHistoryEntry } from '@berth/domain';

export interface ImageStoreOptions {
  root: string;
  /** Which manifest to take from a multi-platform index; defaults to linux and this machine's architecture. */
  platform?: Platform;
  warn?: (message: string) => void;
}

/** A stored image as `list` reports it. */
export interface StoredImage {
  digest: string;
  sizeBytes: number;
  configDigest: string;
  /** When the image was last loaded or pulled (its record written). */
  storedAt: Date;
}

/** What `gc` reclaimed. */
export interface GcResult {
  blobsRemoved: number;
  layersRemoved: number;
  bytesFreed: number;
}

/** An image to export and the names it should carry in the archive. */
export interface ExportRequest {
  digest: string;
  references: string[];
}

const HEX_NAME = /^[a-f0-9]{64}$/;

/**
 * A content-addressed image store on one host (see ImageStoreLayout for what lies where).
 *
 * Everything appears in its final place by rename, after its digest was checked,
 * so a crash leaves only debris in tmp/ (swept by init once it is a day old).
 *
 * `gc` removes what no record refers to. Within this process it is kept from
 * racing the other operations by a shared/exclusive lock (loads and pulls commit
 * their blobs and write their record under the shared side, gc runs under the
 * exclusive one) and by pins: blobs an operation found in the store and relies
 * on (a pull skipping layers it has, an export, an unpack) stay until it is done.
 * Another process must not run gc on the same root.
 */
export class ImageStore {
  private readonly layout: ImageStoreLayout;
  private readonly records: ManifestRecords;
  private readonly layers: UnpackedLayers;
  private readonly platform: Platform;
  /** Blob downloads in flight, shared by concurrent pulls. */
  private readonly staging = new BlobStaging();
  private readonly lock = new SharedExclusiveLock();
  private readonly pins = new BlobPins(this.lock);
  private initialized?: Promise<void>;

  constructor(options: ImageStoreOptions) {
    this.layout = new ImageStoreLayout(options.root);
    this.records = new ManifestRecords(this.layout);
    this.platform = options.platform ?? defaultPlatform();
    this.layers = new UnpackedLayers(this.layout, options.warn ?? ((message) => process.emitWarning(message)));
  }

  init(): Promise<void> {
    this.initialized ??= this.layout.create().catch((err) => {
      this.initialized = undefined;
      throw err;
    });
    return this.initialized;
  }

  async loadArchive(input: NodeJS.ReadableStream | string): Promise<LoadedImage[]> {
    await this.init();
    const spoolDir = await mkdtemp(path.join(this.layout.tmpDir, 'load-'));
    try {
      const archive = await spoolArchive(openSource(input), spoolDir);
      let plans: ImagePlan[];
      if (isOciLayout(archive)) plans = await readOciLayout(archive, this.platform);
      else if (isDockerSave(archive)) plans = await readDockerSave(archive);
      else throw invalidArchive('the archive is neither an OCI image layout (oci-layout, index.json) nor a docker save (manifest.json)');

      await this.commitPlans(plans);
      return plans.map(loadedImage);
    } finally {
      await rm(spoolDir, { recursive: true, force: true });
    }
  }

  /**
   * Pulls `reference` (for the store's platform unless told otherwise) from its
   * registry. Blobs are verified in tmp/ before any enters the store; blobs the
   * store has are not fetched; concurrent pulls share each blob's download.
   */
  async pull(reference: string, client: RegistryClient, options: PullOptions = {}): Promise<LoadedImage> {
    await this.init();
    return pullImage(this.registryAccess(), reference, client, options);
  }

  /** Pushes the stored image `digest` to the registry and tag `reference` names. */
  async push(reference: string, digest: string, client: RegistryClient): Promise<PushResult> {
    await this.init();
    return pushImage(this.registryAccess(), reference, digest, client);
  }

  private registryAccess(): StoreAccess {
    return {
      tmpDir: this.layout.tmpDir,
      platform: this.platform,
      staging: this.staging,
      blobPath: (digest) => this.layout.blobPath(digest),
      pin: (digests) => this.pins.pin(digests),
      commit: (plan) => this.commitPlans([plan]),
      manifestMediaType: async (digest) => (await this.records.read(digest))?.mediaType,
    };
  }

  async resolve(digest: string): Promise<ResolvedImage> {
    await this.init();
    const record = await this.records.require(digest);
    const unpin = await this.pins.pin(record.layers.map((layer) => layer.digest));
    try {
      // Settle every layer before answering, so that no unpack is still running after a failure.
      const outcomes = await Promise.allSettled(record.layers.map((layer) => this.layers.get(layer)));
      const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failure) throw failure.reason;
      const layerDirs = outcomes.map((o) => (o as PromiseFulfilledResult<string>).value);
      return { digest: record.digest, config: record.config, layerDirs };
    } finally {
      unpin();
    }
  }

  /** The build steps of an image from its config's `history`, newest first, as `docker history` lists them. */
  async history(digest: string): Promise<ImageHistoryEntry[]> {
    await this.init();
    const record = await this.records.require(digest);
    const file = this.layout.blobPath(record.configDigest);
    const info = await stat(file).catch(() => undefined);
    if (!info) throw storeLacksBlob(record.configDigest, record.digest);
    if (info.size > MAX_JSON_BLOB_BYTES) throw invalidArchive(`config ${record.configDigest} is larger than ${MAX_JSON_BLOB_BYTES} bytes`);
    let config: unknown;
    try {
      config = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      if (err instanceof SyntaxError) throw invalidArchive(`config ${record.configDigest} is not valid JSON`);
      throw err;
    }
    return imageHistory(
      config,
      record.layers.map((layer) => layer.size),
    );
  }

  /**
   * Forgets the image (its manifest record); its blobs and layers stay until
   * `gc`. Returns whether there was such an image.
   */
  async remove(digest: string): Promise<boolean> {
    await this.init();
    const file = this.layout.recordPath(checkedDigest(digest));
    return this.lock.shared(() =>
      unlink(file).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return false;
          throw err;
        },
      ),
    );
  }

  /**
   * Removes the blobs and unpacked layers that no image record refers to (and no
   * operation in progress has pinned). Layers still mounted by containers of a
   * removed image are the caller's to keep: remove the image only once unused.
   */
  async gc(): Promise<GcResult> {
    await this.init();
    return this.lock.exclusive(async () => {
      const live = new Set(this.pins.pinned());
      for (const { record } of await this.records.readAll()) {
        live.add(record.digest);
        live.add(record.configDigest);
        for (const layer of record.layers) live.add(layer.digest);
      }
      const result: GcResult = { blobsRemoved: 0, layersRemoved: 0, bytesFreed: 0 };
      for (const name of await readdir(this.layout.blobsDir)) {
        if (!HEX_NAME.test(name) || live.has(`sha256:${name}`)) continue;
        const file = path.join(this.layout.blobsDir, name);
        const info = await stat(file).catch(() => undefined);
        if (!info?.isFile()) continue;
        await rm(file, { force: true });
        result.blobsRemoved++;
        result.bytesFreed += info.size;
      }
      for (const name of await readdir(this.layout.layersDir)) {
        const digest = `sha256:${name}`;
        if (!HEX_NAME.test(name) || live.has(digest) || this.layers.inProgress(digest)) continue;
        // Out of layers/ in one step, so that no half-removed layer is ever taken for a whole one.
        const doomed = path.join(this.layout.tmpDir, `gc-${name.slice(0, 12)}-${randomBytes(6).toString('hex')}`);
        await rename(path.join(this.layout.layersDir, name), doomed);
        result.bytesFreed += await removeTree(doomed);
        result.layersRemoved++;
      }
      return result;
    });
  }

  /**
   * Streams the images as one tar that both `docker load` (old and new) and OCI
   * tools read: an OCI image layout with Docker's manifest.json and
   * repositories beside it. Rejects before streaming when an image is unknown.
   */
  async export(images: ExportRequest[]): Promise<Readable> {
    await this.init();
    if (images.length === 0) {
      throw new InvalidArgumentError('name at least one image to export', [{ field: 'images', message: 'must not be empty' }], 'NothingToExport');
    }
    const byDigest = new Map<string, { record: ManifestRecord; references: Set<string> }>();
    for (const { digest, references } of images) {
      const entry = byDigest.get(digest) ?? { record: await this.records.require(digest), references: new Set<string>() };
      for (const reference of references) entry.references.add(normalizeImageReference(reference, 'references'));
      byDigest.set(digest, entry);
    }
    const records = [...byDigest.values()];
    const unpin = await this.pins.pin(records.flatMap(({ record }) => [record.digest, record.configDigest, ...record.layers.map((l) => l.digest)]));
    try {
      const exported: ExportedImage[] = [];
      for (const { record, references } of records) {
        const manifest = await this.storedBlob(record.digest, record);
        const config = await this.storedBlob(record.configDigest, record);
        const layers: ExportedBlob[] = [];
        for (const layer of record.layers) layers.push(await this.storedBlob(layer.digest, record));
        exported.push({
          references: [...references],
          manifest: { ...manifest, mediaType: record.mediaType },
          config,
          layers,
          diffIds: record.layers.map((layer) => layer.diffId),
        });
      }
      const stream = writeImageArchive(exported);
      stream.once('close', unpin);
      return stream;
    } catch (err) {
      unpin();
      throw err;
    }
  }

  async has(digest: string): Promise<boolean> {
    await this.init();
    return isDigest(digest) && (await this.records.read(digest)) !== undefined;
  }

  async list(): Promise<StoredImage[]> {
    await this.init();
    return (await this.records.readAll()).map(({ record, storedAt }) => ({
      digest: record.digest,
      sizeBytes: record.sizeBytes,
      configDigest: record.configDigest,
      storedAt,
    }));
  }

  /**
   * Checks every blob of every plan, then moves them into blobs/ and writes the
   * records; all under the shared lock, so gc never sees blobs without their record.
   */
  private commitPlans(plans: ImagePlan[]): Promise<void> {
    return this.lock.shared(async () => {
      for (const plan of plans) for (const blob of blobsOf(plan)) await this.checkBlob(blob);
      // Only now that every image checked out does anything leave tmp/.
      for (const plan of plans) {
        for (const blob of blobsOf(plan)) await this.commitBlob(blob);
        await this.writeRecord(plan);
      }
    });
  }

  private writeRecord(plan: ImagePlan): Promise<void> {
    return this.records.write(plan);
  }

  private async storedBlob(digest: string, record: ManifestRecord): Promise<ExportedBlob> {
    const file = this.layout.blobPath(digest);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw storeLacksBlob(digest, record.digest);
    return { digest, size: info.size, file };
  }

  private async checkBlob(blob: PlannedBlob): Promise<void> {
    if (blob.file) return verifySpooled(blob.file, blob.descriptor);
    if (blob.bytes) return;
    const stored = await stat(this.layout.blobPath(blob.descriptor.digest)).catch(() => undefined);
    if (stored?.size !== blob.descriptor.size) throw missingBlobInStore(blob.descriptor.digest);
  }

  private async commitBlob(blob: PlannedBlob): Promise<void> {
    const target = this.layout.blobPath(blob.descriptor.digest);
    if (await pathExists(target)) return;
    if (blob.file) {
      // Several images of one archive can share a spooled file: the first commit moves it.
      await rename(blob.file.path, target).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT' || !(await pathExists(target))) throw err;
      });
    } else if (blob.bytes) {
      await this.layout.writeAtomically(target, blob.bytes);
    }
  }
}
