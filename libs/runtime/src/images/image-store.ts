import { randomBytes } from 'crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'fs/promises';
import * as path from 'path';
import { Readable } from 'stream';
import type { ImageConfigSummary, ImageHistoryEntry, LoadedImage } from '@berth/domain';
import { InvalidArgumentError, isDigest, normalizeImageReference, NotFoundError } from '@berth/domain';
import type { ResolvedImage } from '../container-runtime';
import { spoolArchive } from './archive-spool';
import { digestHex } from './digests';
import { isDockerSave, readDockerSave } from './docker-save-reader';
import { imageHistory } from './image-config';
import { ExportedBlob, ExportedImage, writeImageArchive } from './image-export';
import { invalidArchive, missingBlobInStore, storeLacksBlob } from './image-errors';
import { blobsOf, ImagePlan, imageSizeBytes, MAX_JSON_BLOB_BYTES, PlannedBlob, verifySpooled } from './image-plan';
import { unpackLayer } from './layer-unpack';
import { isOciLayout, readOciLayout } from './oci-layout-reader';
import { Platform } from './media-types';
import { defaultPlatform } from './platform';
import { openSource } from './streams';
import { SharedExclusiveLock } from '../shared/shared-exclusive-lock';
import { removeTree } from './tree-removal';
import { BlobStaging, PullOptions, pullImage, StoreAccess } from './registry/pull';
import { PushResult, pushImage } from './registry/push';
import type { RegistryClient } from './registry/registry-client';

export type { ImageHistoryEntry } from '@berth/domain';

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

const STALE_TEMP_MS = 24 * 60 * 60 * 1000;
const HEX_NAME = /^[a-f0-9]{64}$/;

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
 *
 * `gc` removes what no record refers to. Within this process it is kept from
 * racing the other operations by a shared/exclusive lock (loads and pulls commit
 * their blobs and write their record under the shared side, gc runs under the
 * exclusive one) and by pins: blobs an operation found in the store and relies
 * on (a pull skipping layers it has, an export, an unpack) stay until it is done.
 * Another process must not run gc on the same root.
 */
export class ImageStore {
  private readonly root: string;
  private readonly platform: Platform;
  private readonly warn: (message: string) => void;
  private readonly unpacking = new Map<string, Promise<string>>();
  /** Blob downloads in flight, shared by concurrent pulls. */
  private readonly staging = new BlobStaging();
  private readonly lock = new SharedExclusiveLock();
  /** Blobs (and their unpacked layers) that gc must keep, with how many operations need them. */
  private readonly pins = new Map<string, number>();
  private initialized?: Promise<void>;

  constructor(options: ImageStoreOptions) {
    this.root = path.resolve(options.root);
    this.platform = options.platform ?? defaultPlatform();
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
      tmpDir: this.tmpDir,
      platform: this.platform,
      staging: this.staging,
      blobPath: (digest) => this.blobPath(digest),
      pin: (digests) => this.pin(digests),
      commit: (plan) => this.commitPlans([plan]),
      manifestMediaType: async (digest) => (await this.readRecord(digest))?.mediaType,
    };
  }

  async resolve(digest: string): Promise<ResolvedImage> {
    await this.init();
    const record = await this.requireRecord(digest);
    const unpin = await this.pin(record.layers.map((layer) => layer.digest));
    try {
      // Settle every layer before answering, so that no unpack is still running after a failure.
      const outcomes = await Promise.allSettled(record.layers.map((layer) => this.unpackedLayer(layer)));
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
    const record = await this.requireRecord(digest);
    const file = this.blobPath(record.configDigest);
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
    const file = this.recordPath(checkedDigest(digest));
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
      const live = new Set(this.pins.keys());
      for (const { record } of await this.readRecords()) {
        live.add(record.digest);
        live.add(record.configDigest);
        for (const layer of record.layers) live.add(layer.digest);
      }
      const result: GcResult = { blobsRemoved: 0, layersRemoved: 0, bytesFreed: 0 };
      for (const name of await readdir(this.blobsDir)) {
        if (!HEX_NAME.test(name) || live.has(`sha256:${name}`)) continue;
        const file = path.join(this.blobsDir, name);
        const info = await stat(file).catch(() => undefined);
        if (!info?.isFile()) continue;
        await rm(file, { force: true });
        result.blobsRemoved++;
        result.bytesFreed += info.size;
      }
      for (const name of await readdir(this.layersDir)) {
        const digest = `sha256:${name}`;
        if (!HEX_NAME.test(name) || live.has(digest) || this.unpacking.has(digest)) continue;
        // Out of layers/ in one step, so that no half-removed layer is ever taken for a whole one.
        const doomed = path.join(this.tmpDir, `gc-${name.slice(0, 12)}-${randomBytes(6).toString('hex')}`);
        await rename(path.join(this.layersDir, name), doomed);
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
      const entry = byDigest.get(digest) ?? { record: await this.requireRecord(digest), references: new Set<string>() };
      for (const reference of references) entry.references.add(normalizeImageReference(reference, 'references'));
      byDigest.set(digest, entry);
    }
    const records = [...byDigest.values()];
    const unpin = await this.pin(records.flatMap(({ record }) => [record.digest, record.configDigest, ...record.layers.map((l) => l.digest)]));
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
    return isDigest(digest) && (await this.readRecord(digest)) !== undefined;
  }

  async list(): Promise<StoredImage[]> {
    await this.init();
    return (await this.readRecords()).map(({ record, storedAt }) => ({
      digest: record.digest,
      sizeBytes: record.sizeBytes,
      configDigest: record.configDigest,
      storedAt,
    }));
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
      if (!info || now - info.mtimeMs <= STALE_TEMP_MS) continue;
      // A half-unpacked layer may hold read-only directories.
      if (info.isDirectory()) await removeTree(entry);
      else await rm(entry, { force: true });
    }
  }

  /**
   * Keeps blobs (and the layers unpacked from them) from gc until the returned
   * function is called. Taken under the shared lock, so never while gc runs.
   */
  private async pin(digests: string[]): Promise<() => void> {
    const unique = [...new Set(digests)];
    await this.lock.shared(async () => {
      for (const digest of unique) this.pins.set(digest, (this.pins.get(digest) ?? 0) + 1);
    });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const digest of unique) {
        const left = (this.pins.get(digest) ?? 1) - 1;
        if (left > 0) this.pins.set(digest, left);
        else this.pins.delete(digest);
      }
    };
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

  private async storedBlob(digest: string, record: ManifestRecord): Promise<ExportedBlob> {
    const file = this.blobPath(digest);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw storeLacksBlob(digest, record.digest);
    return { digest, size: info.size, file };
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
    try {
      return JSON.parse(await readFile(this.recordPath(checkedDigest(digest)), 'utf8')) as ManifestRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private async requireRecord(digest: string): Promise<ManifestRecord> {
    const record = await this.readRecord(digest);
    if (!record) throw new NotFoundError(`image ${digest} is not in this host's image store`, 'ImageNotFound');
    return record;
  }

  /** Every record, by digest, with when it was written. */
  private async readRecords(): Promise<Array<{ record: ManifestRecord; storedAt: Date }>> {
    const names = (await readdir(this.manifestsDir)).filter((n) => /^[a-f0-9]{64}\.json$/.test(n)).sort();
    const records: Array<{ record: ManifestRecord; storedAt: Date }> = [];
    for (const name of names) {
      const digest = `sha256:${name.slice(0, 64)}`;
      const [record, info] = await Promise.all([this.readRecord(digest), stat(this.recordPath(digest)).catch(() => undefined)]);
      if (record && info) records.push({ record, storedAt: new Date(info.mtimeMs) });
    }
    return records;
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
        await removeTree(scratch);
      });
      return target;
    } catch (err) {
      await removeTree(scratch);
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

function checkedDigest(digest: string): string {
  if (!isDigest(digest)) {
    throw new InvalidArgumentError(
      `"${digest}" is not an image digest (sha256:<64 hex digits>)`,
      [{ field: 'digest', message: 'must be sha256:<hex>' }],
      'InvalidDigest',
    );
  }
  return digest;
}
