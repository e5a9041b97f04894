import { createReadStream } from 'fs';
import { readFile, stat } from 'fs/promises';
import { InvalidArgumentError, isDigest, NotFoundError, parseImageReference } from '@berth/domain';
import { sha256Digest } from '../digests';
import { ImageErrorReason, storeLacksBlob } from '../image-errors';
import { isRecord } from '../media-types';
import type { StoreAccess } from './pull';
import type { RegistryClient } from './registry-client';
import { FetchedManifest, manifestBlobs } from './registry-manifests';
import { repositoryName } from './repository-ref';

export interface PushResult {
  /** The manifest digest, the same as in the store. */
  digest: string;
  /** Blobs uploaded; the others were in the registry already. */
  uploaded: string[];
  skipped: string[];
}

/**
 * Pushes a stored image to the registry and repository `reference` names: each
 * blob the registry lacks (HEAD) is uploaded monolithically (POST, then PUT with
 * `?digest=`), then the manifest, byte for byte as stored, under the reference's
 * tag (or its digest).
 */
export async function pushImage(store: StoreAccess, reference: string, digest: string, client: RegistryClient): Promise<PushResult> {
  const ref = parseImageReference(reference, 'reference');
  if (!isDigest(digest)) {
    throw new InvalidArgumentError(`"${digest}" is not an image digest`, [{ field: 'digest', message: 'must be sha256:<hex>' }], 'InvalidDigest');
  }
  if (ref.digest && ref.digest !== digest) {
    throw new InvalidArgumentError(
      `reference ${reference} names digest ${ref.digest}, not ${digest}`,
      [{ field: 'reference', message: 'digest differs' }],
      'InvalidReference',
    );
  }
  const mediaType = await store.manifestMediaType(digest);
  if (!mediaType) throw new NotFoundError(`image ${digest} is not in this host's image store`, 'ImageNotFound');
  const bytes = await readFile(store.blobPath(digest)).catch(() => {
    throw storeLacksBlob(digest, digest);
  });
  if (sha256Digest(bytes) !== digest) {
    throw new InvalidArgumentError(`the stored manifest ${digest} is damaged`, [], ImageErrorReason.DigestMismatch);
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    json = undefined;
  }
  if (!isRecord(json)) throw new InvalidArgumentError(`the stored manifest ${digest} is not a JSON object`, [], ImageErrorReason.InvalidImageArchive);
  const manifest: FetchedManifest = { digest, mediaType, bytes, json };
  const { config, layers } = manifestBlobs(manifest, `manifest ${digest}`);

  const unpin = await store.pin([digest, config.digest, ...layers.map((l) => l.digest)]);
  try {
    const result: PushResult = { digest, uploaded: [], skipped: [] };
    const seen = new Set<string>();
    for (const blob of [config, ...layers]) {
      if (seen.has(blob.digest)) continue;
      seen.add(blob.digest);
      const file = store.blobPath(blob.digest);
      const info = await stat(file).catch(() => undefined);
      if (info?.size !== blob.size) throw storeLacksBlob(blob.digest, digest);
      if (await client.hasBlob(ref, blob.digest, true)) {
        result.skipped.push(blob.digest);
        continue;
      }
      await client.uploadBlob(ref, blob.digest, blob.size, () => createReadStream(file));
      result.uploaded.push(blob.digest);
    }
    const pushed = await client.putManifest(ref, ref.tag ?? digest, mediaType, bytes);
    if (pushed !== digest) {
      throw new InvalidArgumentError(`manifest pushed to ${repositoryName(ref)} has digest ${pushed}, not ${digest}`, [], ImageErrorReason.DigestMismatch);
    }
    return result;
  } finally {
    unpin();
  }
}
