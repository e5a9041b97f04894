import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiToken, InvalidArgumentError, Team, UnauthenticatedError, newId } from '@berth/domain';
import { AuthContext, TeamScope } from '../common/auth-context';
import { API_CONFIG, ApiConfig } from '../config';
import { TeamsRepository } from './teams.repository';
import { generateToken, hashToken, tokenDisplayPrefix } from './tokens';
import { TokensRepository } from './tokens.repository';

export const ADMIN_TEAM_NAME = 'admin';

/** Who is calling: bearer tokens (stored hashed), the admin team, and an admin's way in on the first start. */
@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly tokens: TokensRepository,
    private readonly teams: TeamsRepository,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async authenticate(header: string | undefined): Promise<AuthContext> {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) throw new UnauthenticatedError('send an API token as "Authorization: Bearer <token>"', 'MissingToken');
    const token = await this.tokens.findActiveByHash(hashToken(match[1]));
    if (!token) throw new UnauthenticatedError('the API token is not valid or was revoked', 'InvalidToken');
    const team = await this.teams.get({ teamId: token.teamId });
    return { teamId: team.id, tokenId: token.id, admin: team.admin };
  }

  /** The admin team always exists; its hosts form the shared pool every team schedules on. */
  async adminTeam(): Promise<Team> {
    const existing = await this.teams.findByName(ADMIN_TEAM_NAME);
    if (existing) return existing;
    await this.teams.insertIfNameFree(
      Object.assign(new Team(), { id: newId('team'), name: ADMIN_TEAM_NAME, admin: true, createdAt: new Date(), policy: null }),
    );
    const created = await this.teams.findByName(ADMIN_TEAM_NAME);
    if (!created) throw new Error('the admin team could not be created');
    return created;
  }

  /**
   * Makes sure an admin can get in: BERTH_ADMIN_TOKEN is registered (hashed) if set;
   * otherwise a token is generated on the first start and returned to be printed once.
   */
  async bootstrap(): Promise<{ team: Team; generatedToken?: string }> {
    const team = await this.adminTeam();
    const scope = { teamId: team.id };
    if (this.config.adminToken) {
      if (this.config.adminToken.length < 16) throw new InvalidArgumentError('BERTH_ADMIN_TOKEN must be at least 16 characters');
      if (!(await this.tokens.hashKnown(hashToken(this.config.adminToken)))) {
        await this.tokens.insert(scope, newTokenRow(scope, 'bootstrap (BERTH_ADMIN_TOKEN)', this.config.adminToken));
        this.logger.log('registered BERTH_ADMIN_TOKEN for the admin team');
      }
      return { team };
    }
    if (await this.tokens.count(scope)) return { team };
    const secret = generateToken();
    await this.tokens.insert(scope, newTokenRow(scope, 'bootstrap', secret));
    return { team, generatedToken: secret };
  }

  /** Creates a token for a team and returns the secret, which is never stored. */
  async issueToken(scope: TeamScope, name: string): Promise<{ token: ApiToken; secret: string }> {
    const secret = generateToken();
    const row = newTokenRow(scope, name, secret);
    await this.tokens.insert(scope, row);
    return { token: row, secret };
  }
}

function newTokenRow(scope: TeamScope, name: string, secret: string): ApiToken {
  return Object.assign(new ApiToken(), {
    id: newId('token'),
    teamId: scope.teamId,
    name,
    tokenHash: hashToken(secret),
    prefix: tokenDisplayPrefix(secret),
    createdAt: new Date(),
    revokedAt: null,
  });
}
