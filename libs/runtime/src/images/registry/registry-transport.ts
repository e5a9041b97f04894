import { Readable } from 'stream';
import { DomainError, UnavailableError } from '@berth/domain';
import type { RegistryAuth } from './registry-auth';
import type { RegistryEndpoints } from './registry-endpoints';
import { redact, RegistryErrorReason, registryFailure, registryUnauthorized } from './registry-errors';
import type { RegistryClientOptions } from './registry-options';
import type { RepositoryRef } from './repository-ref';
import { discardBody } from './response-body';
import { parseWwwAuthenticate } from './www-authenticate';

export interface RequestSpec {
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

/**
 * Requests to a registry's API: authenticated (anonymously or with what the
 * registry asked for before, then once more after a 401 challenge), with
 * timeouts, and failures turned into domain errors naming registry and repository.
 */
export class RegistryTransport {
  constructor(
    private readonly fetchImpl: typeof fetch,
    private readonly endpoints: RegistryEndpoints,
    private readonly auth: RegistryAuth,
    private readonly options: RegistryClientOptions,
  ) {}

  /** One request with authentication: anonymous (or cached credentials) first, then the challenge's scheme. */
  async request(repo: RepositoryRef, spec: RequestSpec, notFoundReason: string): Promise<Response> {
    const scope = `repository:${repo.repository}:${spec.push ? 'pull,push' : 'pull'}`;
    let response = await this.send(repo, spec, await this.auth.authorization(repo, scope, false));
    if (response.status === 401) {
      const challenges = parseWwwAuthenticate(response.headers.get('www-authenticate'));
      await discardBody(response);
      this.auth.challenged(repo, scope, challenges);
      const authorization = await this.auth.authorization(repo, scope, true);
      if (authorization === undefined) throw registryUnauthorized(repo, 'the registry requires credentials and none are configured');
      response = await this.send(repo, spec, authorization);
    }
    if (response.ok || (response.status >= 300 && response.status < 400)) return response;
    throw await registryFailure(repo, spec.method, spec.url, response, notFoundReason);
  }

  private async send(repo: RepositoryRef, spec: RequestSpec, authorization: string | undefined): Promise<Response> {
    const url = /^https?:\/\//.test(spec.url) ? spec.url : this.endpoints.baseUrl(repo.registry) + spec.url;
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
      // A Buffer is a Uint8Array view, which fetch takes; the DOM typing wants an ArrayBuffer-backed one.
      init.body = body as Uint8Array<ArrayBuffer>;
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
}
