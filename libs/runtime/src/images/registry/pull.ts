import { randomBytes } from 'crypto';
import { open, readFile, rm, stat } from 'fs/promises';
import * as path from 'path';
import { pipeline } from 'stream';
import type { LoadedImage } from '@berth/domain';
import { formatImageReference, InvalidArgumentError, parseImageReference } from '@berth/domain';
import type { SpooledFile } from '../archive-spool';
import { digestHex, HashingTap } from '../digests';
import { parseImageConfig } from '../image-config';
import { digestMismatch, ImageErrorReason } from '../image-errors';
import { assertLayersMatchConfig, ImagePlan, imageSizeBytes, MAX_JSON_BLOB_BYTES, PlannedBlob } from '../image-plan';
import { Descriptor, Platform } from '../media-types';
import { writeFully } from '../streams';
import type { RegistryClient } from './registry-client';
import { manifestBlobs } from './registry-manifests';
import { repositoryName, RepositoryRef } from './repository-ref';

export interface PullProgress {
  layersDone: number;
  layersTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface PullOptions {
  /** Defaults to the store's platform. */
  platform?: Platform;
  onProgress?: (progress: PullProgress) => void;
  /** Blobs downloaded at once; default 3. */
  concurrency?: number;
}

/** What pull and push need of the store; ImageStore provides it. */
export interface StoreAccess {
  tmpDir: string;
  platform: Platform;
  staging: BlobStaging;
  blobPath(digest: string): string;
  /** Keeps blobs from garbage collection until the returned function is called. */
  pin(digests: string[]): Promise<() => void>;
  /** Checks the plan's blobs, moves its temp files into blobs/ and writes its record, with no gc in between. */
  commit(plan: ImagePlan): Promise<void>;
  /** The media type of a stored image manifest, or undefined when the store has no such image. */
  manifestMediaType(digest: string): Promise<string | undefined>;
}

interface StagedBlob {
  /** The verified temp file, not yet in the blob store; undefined when the store had the blob. */
  file: Promise<string | undefined>;
  users: number;
}

/** One pull's hold on a staged blob. */
export interface StagedBlobHandle {
  file: Promise<string | undefined>;
  /** Once per handle; the temp file goes with the last one. */
  release(): Promise<void>;
}

/**
 * Blobs being downloaded into tmp/, one download per digest however many pulls
 * want it. A pull acquires every blob it needs, commits them all once all are
 * verified, and releases them; the temp file goes when its last user is done
 * (unless a commit moved it into the store first). A failed download is
 * forgotten at once, so a later pull starts afresh.
 */
export class BlobStaging {
  private readonly staged = new Map<string, StagedBlob>();

  acquire(digest: string, download: () => Promise<string | undefined>): StagedBlobHandle {
    let entry = this.staged.get(digest);
    if (!entry) {
      const created: StagedBlob = { file: download(), users: 0 };
      created.file.catch(() => this.forget(digest, created));
      this.staged.set(digest, created);
      entry = created;
    }
    const held = entry;
    held.users++;
    let released = false;
    return {
      file: held.file,
      release: async () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.users > 0) return;
        this.forget(digest, held);
        const file = await held.file.catch(() => undefined);
        if (file) await rm(file, { force: true });
      },
    };
  }

  get size(): number {
    return this.staged.size;
  }

  private forget(digest: string, entry: StagedBlob): void {
    if (this.staged.get(digest) === entry) this.staged.delete(digest);
  }
}

/**
 * Pulls one image (for one platform) from its registry into the store. Every blob
 * is streamed to tmp/ while hashed and checked against its descriptor; only when
 * all of them are good do they move into blobs/, and then the manifest record is
 * written, as loadArchive does. Blobs the store has are pinned and not fetched.
 * Layers unpack on first resolve.
 */
export async function pullImage(store: StoreAccess, reference: string, client: RegistryClient, options: PullOptions = {}): Promise<LoadedImage> {
  const ref = parseImageReference(reference, 'reference');
  const { manifest } = await client.resolveManifest(ref, options.platform ?? store.platform);
  const where = `manifest ${manifest.digest} of ${repositoryName(ref)}`;
  const { config: configDescriptor, layers: layerDescriptors } = manifestBlobs(manifest, where);
  if (configDescriptor.size > MAX_JSON_BLOB_BYTES) {
    throw new InvalidArgumentError(`${where}: the config is larger than ${MAX_JSON_BLOB_BYTES} bytes`, [], ImageErrorReason.InvalidImageArchive);
  }

  const distinctLayers = unique(layerDescriptors);
  const progress: PullProgress = {
    layersDone: 0,
    layersTotal: distinctLayers.length,
    bytesDone: 0,
    bytesTotal: configDescriptor.size + distinctLayers.reduce((sum, l) => sum + l.size, 0),
  };
  const report = () => options.onProgress?.({ ...progress });

  const held: StagedBlobHandle[] = [];
  const staged = new Map<string, SpooledFile>();
  const fetchBlob = async (descriptor: Descriptor, isLayer: boolean) => {
    let counted = 0;
    const handle = store.staging.acquire(descriptor.digest, async () => {
      if (await isStored(store, descriptor)) return undefined;
      return downloadBlob(store, client, ref, descriptor, (bytes) => {
        counted += bytes;
        progress.bytesDone += bytes;
        report();
      });
    });
    held.push(handle);
    const file = await handle.file;
    if (file) staged.set(descriptor.digest, { name: `blob ${descriptor.digest}`, path: file, size: descriptor.size, digest: descriptor.digest });
    // Bytes the store had, or that a download shared with another pull reported there.
    progress.bytesDone += descriptor.size - counted;
    if (isLayer) progress.layersDone++;
    report();
  };

  const unpin = await store.pin([manifest.digest, configDescriptor.digest, ...distinctLayers.map((l) => l.digest)]);
  try {
    report();
    await fetchBlob(configDescriptor, false);
    const configBytes = await readFirst([staged.get(configDescriptor.digest)?.path, store.blobPath(configDescriptor.digest)]);
    let configJson: unknown;
    try {
      configJson = JSON.parse(configBytes.toString('utf8'));
    } catch {
      throw new InvalidArgumentError(`config ${configDescriptor.digest} of ${repositoryName(ref)} is not valid JSON`, [], ImageErrorReason.InvalidImageArchive);
    }
    const parsedConfig = parseImageConfig(configJson, `config ${configDescriptor.digest} of ${repositoryName(ref)}`);
    assertLayersMatchConfig(
      layerDescriptors.map((descriptor) => ({ descriptor })),
      parsedConfig,
      where,
    );

    await runLimited(distinctLayers, options.concurrency ?? 3, (layer) => fetchBlob(layer, true));

    // Everything checked out: only now does anything enter the store.
    const blob = (descriptor: Descriptor): PlannedBlob => ({ descriptor, file: staged.get(descriptor.digest) });
    const plan: ImagePlan = {
      references: [formatImageReference(ref)],
      manifest: { descriptor: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length }, bytes: manifest.bytes },
      config: blob(configDescriptor),
      parsedConfig,
      layers: layerDescriptors.map(blob),
    };
    await store.commit(plan);
    return {
      references: plan.references,
      digest: manifest.digest,
      configDigest: configDescriptor.digest,
      sizeBytes: imageSizeBytes(plan),
      config: parsedConfig.summary,
      os: parsedConfig.os,
      architecture: parsedConfig.architecture,
    };
  } finally {
    for (const handle of held) await handle.release();
    unpin();
  }
}

/** The first of the files that exists: a staged blob may have been moved into the store by a pull sharing it. */
async function readFirst(files: Array<string | undefined>): Promise<Buffer> {
  let missing: unknown;
  for (const file of files) {
    if (!file) continue;
    try {
      return await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing = err;
    }
  }
  throw missing;
}

async function isStored(store: StoreAccess, descriptor: Descriptor): Promise<boolean> {
  const info = await stat(store.blobPath(descriptor.digest)).catch(() => undefined);
  return info?.isFile() === true && info.size === descriptor.size;
}

/** Streams a blob to a new temp file, hashing it; any mismatch removes the file. */
async function downloadBlob(
  store: StoreAccess,
  client: RegistryClient,
  repo: RepositoryRef,
  descriptor: Descriptor,
  onBytes: (bytes: number) => void,
): Promise<string> {
  const file = path.join(store.tmpDir, `pull-${digestHex(descriptor.digest).slice(0, 12)}-${randomBytes(6).toString('hex')}`);
  const what = `blob ${descriptor.digest} from ${repositoryName(repo)}`;
  const tap = new HashingTap();
  try {
    const body = await client.getBlob(repo, descriptor.digest);
    // pipeline, not pipe: a failing body (reset, timeout) must end the loop below with its error.
    pipeline(body, tap, () => undefined);
    const handle = await open(file, 'wx', 0o600);
    try {
      let size = 0;
      for await (const chunk of tap as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > descriptor.size) {
          throw digestMismatch(what, descriptor, { digest: 'unknown (the registry sent more bytes than the descriptor says)', size });
        }
        await writeFully(handle, chunk);
        onBytes(chunk.length);
      }
    } finally {
      await handle.close();
    }
    const actual = tap.result();
    if (actual.digest !== descriptor.digest || actual.size !== descriptor.size) throw digestMismatch(what, descriptor, actual);
    return file;
  } catch (err) {
    // Stops the body too (pipeline), should the loop never have consumed it.
    tap.destroy();
    await rm(file, { force: true });
    throw err;
  }
}

function unique(descriptors: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return descriptors.filter((d) => {
    if (seen.has(d.digest)) return false;
    seen.add(d.digest);
    return true;
  });
}

/** Runs `work` over `items`, at most `limit` at a time; the first failure wins once all settled. */
async function runLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const item = items[next++];
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
}
