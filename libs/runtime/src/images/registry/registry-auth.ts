import type { BearerTokens } from './bearer-tokens';
import { basicAuthorization, type RegistryClientOptions, type RegistryCredentials } from './registry-options';
import type { RepositoryRef } from './repository-ref';
import { type AuthChallenge, findChallenge } from './www-authenticate';

/** What a registry's last challenge asked for. */
interface RegistryAuthState {
  basic?: boolean;
  bearer?: AuthChallenge;
}

/**
 * The Authorization header for each request: none until a registry has
 * challenged, then `Basic` credentials or a `Bearer` token as it asked.
 */
export class RegistryAuth {
  private readonly auth = new Map<string, RegistryAuthState>();

  constructor(
    private readonly tokens: BearerTokens,
    private readonly options: RegistryClientOptions,
  ) {}

  /** The header for a request, from what the registry asked for before; a new token is fetched only once `challenged`. */
  async authorization(repo: RepositoryRef, scope: string, challenged: boolean): Promise<string | undefined> {
    const state = this.auth.get(repo.registry);
    if (!state) return undefined;
    if (state.basic) {
      const credentials = await this.credentialsFor(repo.registry);
      return credentials ? basicAuthorization(credentials) : undefined;
    }
    if (state.bearer) {
      const token = await this.bearerToken(repo, state.bearer, scope, challenged);
      return token === undefined ? undefined : `Bearer ${token}`;
    }
    return undefined;
  }

  /** The registry answered 401 with these challenges: forget the token it refused and remember what it asks for. */
  challenged(repo: RepositoryRef, scope: string, challenges: AuthChallenge[]): void {
    this.tokens.forget(repo, scope);
    const bearer = findChallenge(challenges, 'Bearer');
    const state: RegistryAuthState = bearer ? { bearer } : findChallenge(challenges, 'Basic') ? { basic: true } : {};
    this.auth.set(repo.registry, state);
  }

  private async credentialsFor(registry: string): Promise<RegistryCredentials | undefined> {
    return this.options.credentials ? this.options.credentials(registry) : undefined;
  }

  /** A cached token for the scope, or (only after a challenge) a new one from the realm. */
  private async bearerToken(repo: RepositoryRef, challenge: AuthChallenge, scope: string, fetchNew: boolean): Promise<string | undefined> {
    const cached = this.tokens.cached(repo, scope);
    if (cached !== undefined) return cached;
    if (!fetchNew) return undefined;
    return this.tokens.obtain(repo, challenge, scope, () => this.credentialsFor(repo.registry));
  }
}
