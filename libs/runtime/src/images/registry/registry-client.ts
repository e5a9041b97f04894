import { Readable } from 'stream';
import type { ImageReference } from '@berth/domain';
import { DomainError, InvalidArgumentError, isDigest, NotFoundError, PermissionDeniedError, UnavailableError } from '@berth/domain';
import { sha256Digest } from '../digests';
import { digestMismatch, ImageErrorReason } from '../image-errors';
import { Descriptor, isIndexMediaType, isManifestMediaType, isRecord, MediaType, parseDescriptor, Platform } from '../media-types';
import { defaultPlatform, selectPlatform } from '../platform';
import { AuthChallenge, findChallenge, parseWwwAuthenticate } from './www-authenticate';

export const RegistryErrorReason = {
  RegistryUnauthorized: 'RegistryUnauthorized',
  ManifestUnknown: 'ManifestUnknown',
  BlobUnknown: 'BlobUnknown',
  RegistryUnavailable: 'RegistryUnavailable',
  RegistryError: 'RegistryError',
} as const;

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryClientOptions {
  /** Registries (`host` or `host:port`) spoken to over plain HTTP; loopback ones always are. */
  insecureRegistries?: string[];
  /** Basic credentials for a registry (`host[:port]` as in the reference), or undefined for anonymous. */
  credentials?: (registry: string) => Promise<RegistryCredentials | undefined>;
  /** Defaults to the global fetch; tests wrap it to count requests. */
  fetch?: typeof fetch;
  /** For requests without a large body; default 30 s. */
  requestTimeoutMs?: number;
  /** For blob transfers; default 30 min. */
  blobTimeoutMs?: number;
  userAgent?: string;
}

/** Where a repository lives: `{ registry: '127.0.0.1:5000', repository: 'team/app' }`. */
export type RepositoryRef = Pick<ImageReference, 'registry' | 'repository'>;

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
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const TOKEN_DEFAULT_TTL_S = 60;
const TOKEN_EARLY_EXPIRY_MS = 5000;

interface RequestSpec {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  /** Path under the registry (`/v2/...`) or an absolute URL (upload locations). */
  url: string;
  headers?: Record<string, string>;
  /** Made anew for every attempt, since a body stream can be sent only once. */
  body?: () => Buffer | Readable;
  contentLength?: number;
  push?: boolean;
  timeoutMs?: number;
}

interface RegistryAuthState {
  basic?: boolean;
  bearer?: AuthChallenge;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * A client for the Distribution (Docker Registry HTTP API v2): manifests, blobs,
 * uploads. Speaks HTTPS except to loopback and listed insecure registries; tries
 * anonymously first and answers `Basic` or `Bearer` challenges; caches tokens per
 * registry and scope. Errors are domain errors naming the registry and repository.
 */
export class RegistryClient {
  private readonly fetchImpl: typeof fetch;
  private readonly insecure: Set<string>;
  private readonly auth = new Map<string, RegistryAuthState>();
  private readonly tokens = new Map<string, CachedToken>();

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.insecure = new Set((options.insecureRegistries ?? []).map((r) => r.toLowerCase()));
  }

  /** The base URL for a registry name as references spell it. */
  baseUrl(registry: string): string {
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    return `${this.usesHttp(registry) ? 'http' : 'https'}://${host}`;
  }

  usesHttp(registry: string): boolean {
    const name = registry.toLowerCase();
    if (this.insecure.has(name)) return true;
    const host = hostOf(name);
    if (this.insecure.has(host)) return true;
    return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  }

  /** Fetches a manifest or index by tag or digest, verifying the bytes against the digest. */
  async getManifest(repo: RepositoryRef, tagOrDigest: string): Promise<FetchedManifest> {
    const what = `manifest ${tagOrDigest} of ${repositoryName(repo)}`;
    const response = await this.request(
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
  async resolveManifest(ref: ImageReference, platform: Platform = defaultPlatform()): Promise<ResolvedManifest> {
    const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';
    let fetched = await this.getManifest(ref, tagOrDigest);
    let index: FetchedManifest | undefined;
    for (let depth = 0; isIndexMediaType(fetched.mediaType) || (!fetched.json.config && Array.isArray(fetched.json.manifests)); depth++) {
      if (depth >= MAX_INDEX_DEPTH) {
        throw new InvalidArgumentError(`image indexes of ${repositoryName(ref)} are nested too deeply`, [], ImageErrorReason.UnsupportedMediaType);
      }
      index ??= fetched;
      const where = `index ${fetched.digest} of ${repositoryName(ref)}`;
      const entries = (fetched.json.manifests as unknown[]).map((m, i) => parseDescriptor(m, `${where} manifests[${i}]`));
      const chosen = selectPlatform(entries, platform, where);
      fetched = await this.getManifest(ref, chosen.digest);
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

  /** Starts a blob download; the caller streams and verifies the body. */
  async getBlob(repo: RepositoryRef, digest: string): Promise<Readable> {
    const response = await this.request(
      repo,
      {
        method: 'GET',
        url: `/v2/${repo.repository}/blobs/${digest}`,
        timeoutMs: this.options.blobTimeoutMs ?? 30 * 60_000,
      },
      RegistryErrorReason.BlobUnknown,
    );
    if (!response.body) return Readable.from([]);
    return Readable.fromWeb(response.body as import('stream/web').ReadableStream<Uint8Array>);
  }

  async hasBlob(repo: RepositoryRef, digest: string, forPush = false): Promise<boolean> {
    try {
      await this.request(repo, { method: 'HEAD', url: `/v2/${repo.repository}/blobs/${digest}`, push: forPush }, RegistryErrorReason.BlobUnknown);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  /** Uploads a blob monolithically: POST an upload session, then PUT the bytes with `?digest=`. */
  async uploadBlob(repo: RepositoryRef, digest: string, size: number, body: () => Buffer | Readable): Promise<void> {
    const started = await this.request(
      repo,
      {
        method: 'POST',
        url: `/v2/${repo.repository}/blobs/uploads/`,
        headers: { 'Content-Length': '0' },
        push: true,
      },
      RegistryErrorReason.BlobUnknown,
    );
    await started.body?.cancel().catch(() => undefined);
    const location = started.headers.get('location');
    if (!location) throw this.protocolError(repo, 'the registry started an upload without a Location');
    const url = new URL(location, this.baseUrl(repo.registry) + '/');
    url.searchParams.set('digest', digest);
    const done = await this.request(
      repo,
      {
        method: 'PUT',
        url: url.toString(),
        headers: { 'Content-Type': 'application/octet-stream' },
        body,
        contentLength: size,
        push: true,
        timeoutMs: this.options.blobTimeoutMs ?? 30 * 60_000,
      },
      RegistryErrorReason.BlobUnknown,
    );
    await done.body?.cancel().catch(() => undefined);
  }

  /** Puts a manifest under a tag or its digest; returns its digest (checked against the registry's). */
  async putManifest(repo: RepositoryRef, tagOrDigest: string, mediaType: string, bytes: Buffer): Promise<string> {
    const digest = sha256Digest(bytes);
    if (isDigest(tagOrDigest) && tagOrDigest !== digest) {
      throw digestMismatch(`manifest for ${repositoryName(repo)}`, { digest: tagOrDigest }, { digest });
    }
    const response = await this.request(
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
    await response.body?.cancel().catch(() => undefined);
    const announced = response.headers.get('docker-content-digest');
    if (announced && announced !== digest) {
      throw digestMismatch(`manifest pushed to ${repositoryName(repo)} (Docker-Content-Digest)`, { digest }, { digest: announced });
    }
    return digest;
  }

  /** One request with authentication: anonymous (or cached credentials) first, then the challenge's scheme. */
  private async request(repo: RepositoryRef, spec: RequestSpec, notFoundReason: string): Promise<Response> {
    const scope = `repository:${repo.repository}:${spec.push ? 'pull,push' : 'pull'}`;
    let response = await this.send(repo, spec, await this.authorization(repo, scope, false));
    if (response.status === 401) {
      const challenges = parseWwwAuthenticate(response.headers.get('www-authenticate'));
      await response.body?.cancel().catch(() => undefined);
      // A token the registry just refused (expired, revoked, too narrow) is not offered again.
      this.tokens.delete(tokenKey(repo, scope));
      this.learnChallenge(repo.registry, challenges);
      const authorization = await this.authorization(repo, scope, true);
      if (authorization === undefined) throw this.unauthorized(repo, 'the registry requires credentials and none are configured');
      response = await this.send(repo, spec, authorization);
    }
    if (response.ok || (response.status >= 300 && response.status < 400)) return response;
    throw await this.failure(repo, spec, response, notFoundReason);
  }

  private async send(repo: RepositoryRef, spec: RequestSpec, authorization: string | undefined): Promise<Response> {
    const url = /^https?:\/\//.test(spec.url) ? spec.url : this.baseUrl(repo.registry) + spec.url;
    const headers: Record<string, string> = { 'User-Agent': this.options.userAgent ?? 'berth', ...spec.headers };
    if (authorization) headers.Authorization = authorization;
    if (spec.contentLength !== undefined) headers['Content-Length'] = String(spec.contentLength);
    const body = spec.body?.();
    const init: RequestInit & { duplex?: 'half' } = {
      method: spec.method,
      headers,
      signal: AbortSignal.timeout(spec.timeoutMs ?? this.options.requestTimeoutMs ?? 30_000),
      redirect: 'follow',
    };
    if (body instanceof Readable) {
      init.body = Readable.toWeb(body) as unknown as ReadableStream;
      init.duplex = 'half';
    } else if (body) {
      init.body = body;
    }
    try {
      const response = await this.fetchImpl(url, init);
      // A registry may answer (401, say) before reading the whole body: close the file behind it.
      if (body instanceof Readable && !body.readableEnded) body.destroy();
      return response;
    } catch (err) {
      if (body instanceof Readable) body.destroy();
      if (err instanceof DomainError) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new UnavailableError(
        `registry ${repo.registry} is unreachable (repository ${repo.repository}, ${spec.method} ${redact(url)}): ${detail}`,
        RegistryErrorReason.RegistryUnavailable,
      );
    }
  }

  private learnChallenge(registry: string, challenges: AuthChallenge[]): void {
    const bearer = findChallenge(challenges, 'Bearer');
    const state: RegistryAuthState = bearer ? { bearer } : findChallenge(challenges, 'Basic') ? { basic: true } : {};
    this.auth.set(registry, state);
  }

  /** The Authorization header for a request, from what the registry asked for before. */
  private async authorization(repo: RepositoryRef, scope: string, challenged: boolean): Promise<string | undefined> {
    const state = this.auth.get(repo.registry);
    if (!state) return undefined;
    if (state.basic) {
      const credentials = await this.credentialsFor(repo.registry);
      return credentials ? basicHeader(credentials) : undefined;
    }
    if (state.bearer) {
      const token = await this.bearerToken(repo, state.bearer, scope, challenged);
      return token === undefined ? undefined : `Bearer ${token}`;
    }
    return undefined;
  }

  private async credentialsFor(registry: string): Promise<RegistryCredentials | undefined> {
    return this.options.credentials ? this.options.credentials(registry) : undefined;
  }

  /** A cached token for the scope, or (only after a challenge) a new one from the realm. */
  private async bearerToken(repo: RepositoryRef, challenge: AuthChallenge, scope: string, fetchNew: boolean): Promise<string | undefined> {
    const key = tokenKey(repo, scope);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    if (!fetchNew) return undefined;
    const realm = challenge.params.realm;
    if (!realm) throw this.unauthorized(repo, 'the Bearer challenge names no realm');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw this.unauthorized(repo, `the Bearer challenge's realm "${realm}" is not a URL`);
    }
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.append('scope', scope);
    const credentials = await this.credentialsFor(repo.registry);
    if (credentials && url.protocol !== 'https:' && !(url.protocol === 'http:' && this.usesHttp(url.host))) {
      throw this.unauthorized(repo, `the Bearer challenge's realm ${redact(realm)} is not HTTPS; credentials are not sent there`);
    }
    const headers: Record<string, string> = { 'User-Agent': this.options.userAgent ?? 'berth' };
    if (credentials) headers.Authorization = basicHeader(credentials);
    let response: Response;
    try {
      response = await this.fetchImpl(url.toString(), {
        headers,
        signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new UnavailableError(
        `the token service of registry ${repo.registry} is unreachable (repository ${repo.repository}): ${(err as Error).message}`,
        RegistryErrorReason.RegistryUnavailable,
      );
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel().catch(() => undefined);
      throw this.unauthorized(repo, `the token service refused ${credentials ? 'the credentials' : 'anonymous access'}`);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new UnavailableError(
        `the token service of registry ${repo.registry} answered ${response.status} (repository ${repo.repository})`,
        RegistryErrorReason.RegistryUnavailable,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse((await readLimited(response, MAX_ERROR_BODY_BYTES, 'token')).toString('utf8'));
    } catch (err) {
      if (err instanceof DomainError) throw err;
      body = undefined;
    }
    const token = isRecord(body) ? (body.token ?? body.access_token) : undefined;
    if (typeof token !== 'string' || !token) throw this.unauthorized(repo, 'the token service returned no token');
    const ttl = isRecord(body) && typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : TOKEN_DEFAULT_TTL_S;
    this.tokens.set(key, { token, expiresAt: Date.now() + ttl * 1000 - TOKEN_EARLY_EXPIRY_MS });
    return token;
  }

  private async failure(repo: RepositoryRef, spec: RequestSpec, response: Response, notFoundReason: string): Promise<DomainError> {
    const detail = await errorDetail(response);
    const what = `${spec.method} ${redact(spec.url)}`;
    if (response.status === 401 || response.status === 403) {
      return this.unauthorized(repo, `${what} answered ${response.status}${detail}`);
    }
    if (response.status === 404) {
      const kind = notFoundReason === RegistryErrorReason.ManifestUnknown ? 'manifest' : 'blob';
      return new NotFoundError(`registry ${repo.registry} has no such ${kind} in repository ${repo.repository} (${what})${detail}`, notFoundReason);
    }
    if (response.status === 429 || response.status >= 500) {
      return new UnavailableError(
        `registry ${repo.registry} answered ${response.status} for repository ${repo.repository} (${what})${detail}`,
        RegistryErrorReason.RegistryUnavailable,
      );
    }
    return new InvalidArgumentError(
      `registry ${repo.registry} answered ${response.status} for repository ${repo.repository} (${what})${detail}`,
      [],
      RegistryErrorReason.RegistryError,
    );
  }

  private unauthorized(repo: RepositoryRef, why: string): PermissionDeniedError {
    return new PermissionDeniedError(
      `registry ${repo.registry} denied access to repository ${repo.repository}: ${why}`,
      RegistryErrorReason.RegistryUnauthorized,
    );
  }

  private protocolError(repo: RepositoryRef, why: string): UnavailableError {
    return new UnavailableError(`registry ${repo.registry}, repository ${repo.repository}: ${why}`, RegistryErrorReason.RegistryUnavailable);
  }
}

export function repositoryName(repo: RepositoryRef): string {
  return `${repo.registry}/${repo.repository}`;
}

function tokenKey(repo: RepositoryRef, scope: string): string {
  return `${repo.registry} ${scope}`;
}

function hostOf(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(0, registry.indexOf(']') + 1);
  const colon = registry.lastIndexOf(':');
  return colon >= 0 ? registry.slice(0, colon) : registry;
}

function basicHeader(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** Upload locations carry state tokens in the query; keep them out of messages. */
function redact(url: string): string {
  return url.split('?')[0];
}

async function readLimited(response: Response, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new InvalidArgumentError(`${what} is larger than ${maxBytes} bytes`, [], ImageErrorReason.InvalidImageArchive);
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let length = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new InvalidArgumentError(`${what} is larger than ${maxBytes} bytes`, [], ImageErrorReason.InvalidImageArchive);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

/** The registry's error list (`{"errors":[{"code","message"}]}`), briefly. */
async function errorDetail(response: Response): Promise<string> {
  try {
    const text = (await readLimited(response, MAX_ERROR_BODY_BYTES, 'error body')).toString('utf8');
    const body = JSON.parse(text) as unknown;
    if (isRecord(body) && Array.isArray(body.errors)) {
      const parts = body.errors.filter(isRecord).map((e) => [e.code, e.message].filter((x) => typeof x === 'string').join(': '));
      if (parts.length) return `: ${parts.join('; ').slice(0, 500)}`;
    }
  } catch {
    // No body, or not JSON.
  }
  return '';
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
