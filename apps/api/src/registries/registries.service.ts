import { Inject, Injectable } from '@nestjs/common';
import {
  FailedPreconditionError,
  Host,
  InvalidArgumentError,
  NotFoundError,
  RegistryCredential,
  SealedLogin,
  newId,
  normalizeRegistryServer,
  sealLogin,
} from '@berth/domain';
import { AuthContext, TeamScope } from '../common/auth-context';
import { API_CONFIG, ApiConfig } from '../config';
import { Transactions } from '../database/transactions';
import { RegistriesRepository } from './registries.repository';
import { SaveRegistryDto } from './registry.dto';
import { SecretBox } from './secret-box';

/**
 * Registry logins per team. Secrets are sealed at rest; a job that has to log in
 * carries the login sealed for the one host that runs it (its X25519 key), so the
 * secret stays sealed in the operations table and in Redis, and no worker calls back for it.
 */
@Injectable()
export class RegistriesService {
  private readonly box: SecretBox;

  constructor(
    private readonly logins: RegistriesRepository,
    private readonly tx: Transactions,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.box = new SecretBox(config.secret, 'registry credentials');
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

  /**
   * The team's login for `server` sealed for `host`, to put in the host's job;
   * undefined when the team has none. A host that reports no sealing key cannot
   * be given one (FailedPrecondition), and nothing is enqueued.
   */
  async sealedLoginFor(teamId: string, server: string, host: Host): Promise<SealedLogin | undefined> {
    const found = await this.logins.findByServer({ teamId }, server);
    if (!found) return undefined;
    if (!host.info?.sealingKey) {
      throw new FailedPreconditionError(
        `host ${host.name} reports no sealing key, so the team's login to ${server} cannot be sent to it; upgrade its worker or choose another host`,
        'HostCannotOpenLogins',
      );
    }
    const login = { server: found.server, username: found.username, password: this.box.open(found.secretSealed, sealContext(found.teamId, found.id)) };
    return sealLogin(login, host.info.sealingKey, { hostName: host.name, teamId });
  }
}

function sealContext(teamId: string, id: string): string {
  return `registry-credential:${teamId}:${id}`;
}
