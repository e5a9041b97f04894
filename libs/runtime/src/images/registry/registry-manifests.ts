import type { ImageReference } from '@berth/domain';
import { InvalidArgumentError, isDigest } from '@berth/domain';
import { sha256Digest } from '../digests';
import { digestMismatch, ImageErrorReason } from '../image-errors';
import { Descriptor, isIndexMediaType, isManifestMediaType, isRecord, MediaType, parseDescriptor, Platform } from '../media-types';
import { defaultPlatform, selectPlatform } from '../platform';
import { RegistryErrorReason } from './registry-errors';
import type { RegistryTransport } from './registry-transport';
import { repositoryName, type RepositoryRef } from './repository-ref';
import { discardBody, readLimited } from './response-body';

/** A manifest or index as the registry served it, its bytes checked against its digest. */
export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  json: Record<string, unknown>;
}

/** The image manifest chosen for a platform, and the index it came from, if any. */
export interface ResolvedManifest {
  manifest: FetchedManifest;
  index?: FetchedManifest;
}

export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest];

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_INDEX_DEPTH = 2;

/** Manifests and indexes of a registry's repositories: fetched and verified, resolved for a platform, pushed. */
export class RegistryManifests {
  constructor(private readonly transport: RegistryTransport) {}

  /** Fetches a manifest or index by tag or digest, verifying the bytes against the digest. */
  async get(repo: RepositoryRef, tagOrDigest: string): Promise<FetchedManifest> {
    const what = `manifest ${tagOrDigest} of ${repositoryName(repo)}`;
    const response = await this.transport.request(
      repo,
      {
        method: 'GET',
        url: `/v2/${repo.repository}/manifests/${tagOrDigest}`,
        headers: { Accept: MANIFEST_ACCEPT.join(', ') },
      },
      RegistryErrorReason.ManifestUnknown,
    );
    const bytes = await readLimited(response, MAX_MANIFEST_BYTES, what);
    const actual = sha256Digest(bytes);
    if (isDigest(tagOrDigest) && actual !== tagOrDigest) throw digestMismatch(what, { digest: tagOrDigest }, { digest: actual });
    const announced = response.headers.get('docker-content-digest');
    if (announced && isDigest(announced) && announced !== actual) {
      throw digestMismatch(`${what} (Docker-Content-Digest)`, { digest: announced }, { digest: actual });
    }
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new InvalidArgumentError(`${what} is not valid JSON`, [], ImageErrorReason.InvalidImageArchive);
    }
    if (!isRecord(json)) throw new InvalidArgumentError(`${what} is not a JSON object`, [], ImageErrorReason.InvalidImageArchive);
    const header = (response.headers.get('content-type') ?? '').split(';')[0].trim();
    const mediaType =
      (typeof json.mediaType === 'string' && json.mediaType) || header || (Array.isArray(json.manifests) ? MediaType.OciIndex : MediaType.OciManifest);
    return { digest: actual, mediaType, bytes, json };
  }

  /**
   * Fetches the manifest a reference names, following an index or manifest list
   * to the entry for `platform` (default linux/<this machine's architecture>).
   */
  async resolve(ref: ImageReference, platform: Platform = defaultPlatform()): Promise<ResolvedManifest> {
    const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';
    let fetched = await this.get(ref, tagOrDigest);
    let index: FetchedManifest | undefined;
    for (let depth = 0; isIndexMediaType(fetched.mediaType) || (!fetched.json.config && Array.isArray(fetched.json.manifests)); depth++) {
      if (depth >= MAX_INDEX_DEPTH) {
        throw new InvalidArgumentError(`image indexes of ${repositoryName(ref)} are nested too deeply`, [], ImageErrorReason.UnsupportedMediaType);
      }
      index ??= fetched;
      const where = `index ${fetched.digest} of ${repositoryName(ref)}`;
      const entries = (fetched.json.manifests as unknown[]).map((m, i) => parseDescriptor(m, `${where} manifests[${i}]`));
      const chosen = selectPlatform(entries, platform, where);
      fetched = await this.get(ref, chosen.digest);
      if (fetched.bytes.length !== chosen.size) {
        throw digestMismatch(`manifest ${chosen.digest} of ${repositoryName(ref)}`, chosen, { digest: fetched.digest, size: fetched.bytes.length });
      }
    }
    if (!isManifestMediaType(fetched.mediaType)) {
      throw new InvalidArgumentError(
        `manifest ${fetched.digest} of ${repositoryName(ref)} has unsupported media type "${fetched.mediaType}"`,
        [],
        ImageErrorReason.UnsupportedMediaType,
      );
    }
    return { manifest: fetched, index };
  }

  /** Puts a manifest under a tag or its digest; returns its digest (checked against the registry's). */
  async put(repo: RepositoryRef, tagOrDigest: string, mediaType: string, bytes: Buffer): Promise<string> {
    const digest = sha256Digest(bytes);
    if (isDigest(tagOrDigest) && tagOrDigest !== digest) {
      throw digestMismatch(`manifest for ${repositoryName(repo)}`, { digest: tagOrDigest }, { digest });
    }
    const response = await this.transport.request(
      repo,
      {
        method: 'PUT',
        url: `/v2/${repo.repository}/manifests/${tagOrDigest}`,
        headers: { 'Content-Type': mediaType },
        body: () => bytes,
        contentLength: bytes.length,
        push: true,
      },
      RegistryErrorReason.ManifestUnknown,
    );
    await discardBody(response);
    const announced = response.headers.get('docker-content-digest');
    if (announced && announced !== digest) {
      throw digestMismatch(`manifest pushed to ${repositoryName(repo)} (Docker-Content-Digest)`, { digest }, { digest: announced });
    }
    return digest;
  }
}

/** Descriptors of the config and layers of an image manifest. */
export function manifestBlobs(manifest: FetchedManifest, where: string): { config: Descriptor; layers: Descriptor[] } {
  const json = manifest.json;
  const config = parseDescriptor(json.config, `${where} config`);
  if (!Array.isArray(json.layers)) {
    throw new InvalidArgumentError(`${where} has no layers list`, [], ImageErrorReason.InvalidImageArchive);
  }
  const layers = json.layers.map((raw, i) => parseDescriptor(raw, `${where} layers[${i}]`));
  return { config, layers };
}
