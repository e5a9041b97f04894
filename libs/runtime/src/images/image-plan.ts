import { open } from 'fs/promises';
import { InvalidArgumentError, type LoadedImage } from '@berth/domain';
import { readSpooledJson, SpooledArchive, SpooledFile } from './archive-spool';
import { digestHex } from './digests';
import { ParsedImageConfig } from './image-config';
import { digestMismatch, ImageErrorReason, invalidArchive } from './image-errors';
import { Descriptor, isLayerMediaType } from './media-types';

export const MAX_JSON_BLOB_BYTES = 4 * 1024 * 1024;

/** A blob an image needs: spooled from the archive, built in memory, or (layers only) already in the store. */
export interface PlannedBlob {
  descriptor: Descriptor;
  file?: SpooledFile;
  bytes?: Buffer;
}

/** One image read from an archive and checked, ready to be committed to the store. */
export interface ImagePlan {
  references: string[];
  manifest: PlannedBlob;
  config: PlannedBlob;
  parsedConfig: ParsedImageConfig;
  layers: PlannedBlob[];
}

export function blobsOf(plan: ImagePlan): PlannedBlob[] {
  return [plan.manifest, plan.config, ...plan.layers];
}

export function imageSizeBytes(plan: ImagePlan): number {
  return plan.config.descriptor.size + plan.layers.reduce((sum, layer) => sum + layer.descriptor.size, 0);
}

export function verifySpooled(file: SpooledFile, descriptor: Pick<Descriptor, 'digest' | 'size'>): void {
  if (file.digest !== descriptor.digest || file.size !== descriptor.size) {
    throw digestMismatch(`blob ${file.name} in the archive`, descriptor, file);
  }
}

export function blobPathInLayout(digest: string): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

/** Reads and parses a small JSON blob of an OCI layout after checking its digest and size. */
export async function readVerifiedJson(archive: SpooledArchive, descriptor: Descriptor): Promise<{ file: SpooledFile; json: unknown }> {
  const file = archive.get(blobPathInLayout(descriptor.digest));
  if (!file) throw missingBlob(descriptor.digest);
  verifySpooled(file, descriptor);
  return { file, json: await readSpooledJson(file, MAX_JSON_BLOB_BYTES) };
}

export function missingBlob(digest: string): InvalidArgumentError {
  return new InvalidArgumentError(`the archive does not contain blob ${digest}`, [], ImageErrorReason.MissingBlob);
}

export function assertLayersMatchConfig(layers: PlannedBlob[], config: ParsedImageConfig, where: string): void {
  for (const layer of layers) {
    if (!isLayerMediaType(layer.descriptor.mediaType)) {
      throw new InvalidArgumentError(
        `${where}: layer ${layer.descriptor.digest} has unsupported media type "${layer.descriptor.mediaType}"`,
        [],
        ImageErrorReason.UnsupportedMediaType,
      );
    }
  }
  if (layers.length !== config.diffIds.length) {
    throw invalidArchive(`${where}: the manifest lists ${layers.length} layers but the config has ${config.diffIds.length} diff_ids`);
  }
}

export async function readHead(file: SpooledFile, bytes: number): Promise<Buffer> {
  const handle = await open(file.path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Merges plans that share a manifest digest (one image under several names). */
export function mergeByDigest(plans: ImagePlan[]): ImagePlan[] {
  const byDigest = new Map<string, ImagePlan>();
  for (const plan of plans) {
    const seen = byDigest.get(plan.manifest.descriptor.digest);
    if (!seen) byDigest.set(plan.manifest.descriptor.digest, { ...plan, references: [...new Set(plan.references)] });
    else seen.references = [...new Set([...seen.references, ...plan.references])];
  }
  return [...byDigest.values()];
}

/** What a load or pull answers about an image it stored. */
export function loadedImage(plan: ImagePlan): LoadedImage {
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
