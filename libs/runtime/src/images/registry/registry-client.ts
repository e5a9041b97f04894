import type { Readable } from 'stream';
import type { ImageReference } from '@berth/domain';
import type { Platform } from '../media-types';
import { defaultPlatform } from '../platform';
import { BearerTokens } from './bearer-tokens';
import { RegistryAuth } from './registry-auth';
import { RegistryBlobs } from './registry-blobs';
import { RegistryEndpoints } from './registry-endpoints';
import { FetchedManifest, RegistryManifests, ResolvedManifest } from './registry-manifests';
import type { RegistryClientOptions } from './registry-options';
import { RegistryTransport } from './registry-transport';
import type { RepositoryRef } from './repository-ref';

/**
 * A client for the Distribution (Docker Registry HTTP API v2): manifests, blobs,
 * uploads. Speaks HTTPS except to loopback and listed insecure registries; tries
 * anonymously first and answers `Basic` or `Bearer` challenges; caches tokens per
 * registry and scope. Errors are domain errors naming the registry and repository.
 */
export class RegistryClient {
  private readonly endpoints: RegistryEndpoints;
  private readonly manifests: RegistryManifests;
  private readonly blobs: RegistryBlobs;

  constructor(options: RegistryClientOptions = {}) {
    const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.endpoints = new RegistryEndpoints(options.insecureRegistries ?? []);
    const auth = new RegistryAuth(new BearerTokens(fetchImpl, this.endpoints, options), options);
    const transport = new RegistryTransport(fetchImpl, this.endpoints, auth, options);
    this.manifests = new RegistryManifests(transport);
    this.blobs = new RegistryBlobs(transport, this.endpoints, options);
  }

  /** The base URL for a registry name as references spell it. */
  baseUrl(registry: string): string {
    return this.endpoints.baseUrl(registry);
  }

  usesHttp(registry: string): boolean {
    return this.endpoints.usesHttp(registry);
  }

  /** Fetches a manifest or index by tag or digest, verifying the bytes against the digest. */
  getManifest(repo: RepositoryRef, tagOrDigest: string): Promise<FetchedManifest> {
    return this.manifests.get(repo, tagOrDigest);
  }

  /**
   * Fetches the manifest a reference names, following an index or manifest list
   * to the entry for `platform` (default linux/<this machine's architecture>).
   */
  resolveManifest(ref: ImageReference, platform: Platform = defaultPlatform()): Promise<ResolvedManifest> {
    return this.manifests.resolve(ref, platform);
  }

  /** Starts a blob download; the caller streams and verifies the body. */
  getBlob(repo: RepositoryRef, digest: string): Promise<Readable> {
    return this.blobs.get(repo, digest);
  }

  hasBlob(repo: RepositoryRef, digest: string, forPush = false): Promise<boolean> {
    return this.blobs.has(repo, digest, forPush);
  }

  /** Uploads a blob monolithically: POST an upload session, then PUT the bytes with `?digest=`. */
  uploadBlob(repo: RepositoryRef, digest: string, size: number, body: () => Buffer | Readable): Promise<void> {
    return this.blobs.upload(repo, digest, size, body);
  }

  /** Puts a manifest under a tag or its digest; returns its digest (checked against the registry's). */
  putManifest(repo: RepositoryRef, tagOrDigest: string, mediaType: string, bytes: Buffer): Promise<string> {
    return this.manifests.put(repo, tagOrDigest, mediaType, bytes);
  }
}
