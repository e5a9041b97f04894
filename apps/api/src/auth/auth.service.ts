import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import { ApiToken, InvalidArgumentError, Team, UnauthenticatedError, newId } from '@berth/domain';
import { API_CONFIG, ApiConfig } from '../config';
import { AuthContext } from '../common/auth-context';
import { generateToken, hashToken, tokenDisplayPrefix } from './tokens';

export const ADMIN_TEAM_NAME = 'admin';

@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async authenticate(header: string | undefined): Promise<AuthContext> {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) throw new UnauthenticatedError('send an API token as "Authorization: Bearer <token>"', 'MissingToken');
    const token = await this.db.getRepository(ApiToken).findOne({ where: { tokenHash: hashToken(match[1]), revokedAt: IsNull() } });
    if (!token) throw new UnauthenticatedError('the API token is not valid or was revoked', 'InvalidToken');
    const team = await this.db.getRepository(Team).findOneByOrFail({ id: token.teamId });
    return { teamId: team.id, tokenId: token.id, admin: team.admin };
  }

  /** The admin team always exists; its hosts form the shared pool every team schedules on. */
  async adminTeam(): Promise<Team> {
    const repo = this.db.getRepository(Team);
    const existing = await repo.findOneBy({ name: ADMIN_TEAM_NAME });
    if (existing) return existing;
    await repo
      .createQueryBuilder()
      .insert()
      .values({ id: newId('team'), name: ADMIN_TEAM_NAME, admin: true, createdAt: new Date() })
      .orIgnore()
      .execute();
    return repo.findOneByOrFail({ name: ADMIN_TEAM_NAME });
  }

  /**
   * Makes sure an admin can get in: BERTH_ADMIN_TOKEN is registered (hashed) if set;
   * otherwise a token is generated on the first start and returned to be printed once.
   */
  async bootstrap(): Promise<{ team: Team; generatedToken?: string }> {
    const team = await this.adminTeam();
    const tokens = this.db.getRepository(ApiToken);
    if (this.config.adminToken) {
      if (this.config.adminToken.length < 16) throw new InvalidArgumentError('BERTH_ADMIN_TOKEN must be at least 16 characters');
      const hash = hashToken(this.config.adminToken);
      if (!(await tokens.findOneBy({ tokenHash: hash }))) {
        await tokens.insert(this.newTokenRow(team.id, 'bootstrap (BERTH_ADMIN_TOKEN)', this.config.adminToken));
        this.logger.log('registered BERTH_ADMIN_TOKEN for the admin team');
      }
      return { team };
    }
    if (await tokens.count({ where: { teamId: team.id } })) return { team };
    const secret = generateToken();
    await tokens.insert(this.newTokenRow(team.id, 'bootstrap', secret));
    return { team, generatedToken: secret };
  }

  /** Creates a token for a team and returns the secret, which is never stored. */
  async issueToken(teamId: string, name: string): Promise<{ token: ApiToken; secret: string }> {
    const secret = generateToken();
    const row = this.newTokenRow(teamId, name, secret);
    await this.db.getRepository(ApiToken).insert(row);
    return { token: row, secret };
  }

  private newTokenRow(teamId: string, name: string, secret: string): ApiToken {
    return Object.assign(new ApiToken(), {
      id: newId('token'),
      teamId,
      name,
      tokenHash: hashToken(secret),
      prefix: tokenDisplayPrefix(secret),
      createdAt: new Date(),
      revokedAt: null,
    });
  }
}
