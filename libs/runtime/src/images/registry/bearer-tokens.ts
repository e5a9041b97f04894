import { DomainError, UnavailableError } from '@berth/domain';
import { isRecord } from '../media-types';
import type { RegistryEndpoints } from './registry-endpoints';
import { MAX_ERROR_BODY_BYTES, redact, RegistryErrorReason, registryUnauthorized } from './registry-errors';
import { basicAuthorization, type RegistryClientOptions, type RegistryCredentials } from './registry-options';
import type { RepositoryRef } from './repository-ref';
import { discardBody, readLimited } from './response-body';
import type { AuthChallenge } from './www-authenticate';

const TOKEN_DEFAULT_TTL_S = 60;
const TOKEN_EARLY_EXPIRY_MS = 5000;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * Bearer tokens from a registry's token service (the realm of its challenge),
 * cached per registry and scope until shortly before they expire.
 */
export class BearerTokens {
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly fetchImpl: typeof fetch,
    private readonly endpoints: RegistryEndpoints,
    private readonly options: RegistryClientOptions,
  ) {}

  /** The token cached for the scope, unless it has expired. */
  cached(repo: RepositoryRef, scope: string): string | undefined {
    const cached = this.tokens.get(tokenKey(repo, scope));
    return cached && cached.expiresAt > Date.now() ? cached.token : undefined;
  }

  /** A token the registry refused (expired, revoked, too narrow) is not offered again. */
  forget(repo: RepositoryRef, scope: string): void {
    this.tokens.delete(tokenKey(repo, scope));
  }

  /** Asks the challenge's realm for a token for the scope, with the registry's credentials if there are any. */
  async obtain(repo: RepositoryRef, challenge: AuthChallenge, scope: string, credentialsFor: () => Promise<RegistryCredentials | undefined>): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) throw registryUnauthorized(repo, 'the Bearer challenge names no realm');
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw registryUnauthorized(repo, `the Bearer challenge's realm "${realm}" is not a URL`);
    }
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.append('scope', scope);
    const credentials = await credentialsFor();
    if (credentials && url.protocol !== 'https:' && !(url.protocol === 'http:' && this.endpoints.usesHttp(url.host))) {
      throw registryUnauthorized(repo, `the Bearer challenge's realm ${redact(realm)} is not HTTPS; credentials are not sent there`);
    }
    const headers: Record<string, string> = { 'User-Agent': this.options.userAgent ?? 'berth' };
    if (credentials) headers.Authorization = basicAuthorization(credentials);
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
      await discardBody(response);
      throw registryUnauthorized(repo, `the token service refused ${credentials ? 'the credentials' : 'anonymous access'}`);
    }
    if (!response.ok) {
      await discardBody(response);
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
    if (typeof token !== 'string' || !token) throw registryUnauthorized(repo, 'the token service returned no token');
    const ttl = isRecord(body) && typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : TOKEN_DEFAULT_TTL_S;
    this.tokens.set(tokenKey(repo, scope), { token, expiresAt: Date.now() + ttl * 1000 - TOKEN_EARLY_EXPIRY_MS });
    return token;
  }
}

function tokenKey(repo: RepositoryRef, scope: string): string {
  return `${repo.registry} ${scope}`;
}
