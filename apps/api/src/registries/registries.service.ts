import { Inject, Injectable } from '@nestjs/common';
import { InvalidArgumentError, NotFoundError, RegistryCredential, RegistryLogin, newId, normalizeRegistryServer } from '@berth/domain';
import { AuthContext, TeamScope } from '../common/auth-context';
import { SignedLinks } from '../common/signed-link';
import { API_CONFIG, ApiConfig } from '../config';
import { Transactions } from '../database/transactions';
import { RegistriesRepository } from './registries.repository';
import { SaveRegistryDto } from './registry.dto';
import { SecretBox } from './secret-box';

/** Long enough for a pull that waits in the queue and retries. */
const LOGIN_LINK_TTL_MS = 6 * 3600 * 1000;
const LOGIN_LINK_BASE = '/v1/internal/registry-logins';

/**
 * Registry logins per team. Secrets are sealed at rest; a worker that has to log in
 * gets a signed, expiring link to one login instead of the secret in its job.
 */
@Injectable()
export class RegistriesService {
  private readonly box: SecretBox;
  private readonly links: SignedLinks;

  constructor(
    private readonly logins: RegistriesRepository,
    private readonly tx: Transactions,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.box = new SecretBox(config.secret, 'registry credentials');
    this.links = new SignedLinks(config.secret, 'registry-login', LOGIN_LINK_TTL_MS);
  }

  /** Adds the team's login for a server, or replaces it (as `docker login` does). */
  async save(auth: AuthContext, dto: SaveRegistryDto): Promise<{ credential: RegistryCredential; created: boolean }> {
    const server = normalizeRegistryServer(dto.server, 'server');
    if ((dto.password === undefined) === (dto.token === undefined)) {
      const message = 'give exactly one of password and token';
      throw new InvalidArgumentError(message, [{ field: dto.password === undefined ? 'password' : 'token', message }], 'InvalidCredentials');
    }
    const secret = (dto.password ?? dto.token)!;
    return this.tx.run(async () => {
      const existing = await this.logins.findByServer(auth, server);
      const now = new Date();
      const id = existing?.id ?? newId('registry');
      const credential = Object.assign(new RegistryCredential(), {
        id,
        teamId: auth.teamId,
        server,
        username: dto.username,
        secretSealed: this.box.seal(secret, sealContext(auth.teamId, id)),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      });
      await this.logins.save(auth, credential);
      return { credential, created: !existing };
    });
  }

  list(scope: TeamScope): Promise<RegistryCredential[]> {
    return this.logins.list(scope);
  }

  async get(scope: TeamScope, idOrServer: string): Promise<RegistryCredential> {
    const found = /^reg_/.test(idOrServer)
      ? await this.logins.findById(scope, idOrServer)
      : await this.logins.findByServer(scope, normalizeRegistryServer(idOrServer, 'id'));
    if (!found) throw new NotFoundError(`registry login ${idOrServer} not found`, 'RegistryNotFound');
    return found;
  }

  async remove(scope: TeamScope, idOrServer: string): Promise<void> {
    const found = await this.get(scope, idOrServer);
    await this.logins.delete(scope, found.id);
  }

  /** The signed link a worker fetches the team's login for `server` from; undefined when the team has none. */
  async loginPathFor(teamId: string, server: string): Promise<string | undefined> {
    const found = await this.logins.findByServer({ teamId }, server);
    return found ? this.links.path(LOGIN_LINK_BASE, found.id) : undefined;
  }

  /** Opens a login for a worker that presented a valid link. */
  async openLogin(id: string, expires: string, sig: string): Promise<RegistryLogin> {
    const found = this.links.verify(id, expires, sig) ? await this.logins.findForLink(id) : null;
    if (!found) throw new NotFoundError('no such registry login, or the link expired', 'RegistryLoginNotFound');
    return { server: found.server, username: found.username, password: this.box.open(found.secretSealed, sealContext(found.teamId, found.id)) };
  }
}

function sealContext(teamId: string, id: string): string {
  return `registry-credential:${teamId}:${id}`;
}
