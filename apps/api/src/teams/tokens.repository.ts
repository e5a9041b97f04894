import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { ApiToken } from '@berth/domain';
import { TeamScope, teamIdOf } from '../common/auth-context';
import { Transactions } from '../database/transactions';

/** Every query of API tokens, which are stored as their SHA-256 only. */
@Injectable()
export class TokensRepository {
  static readonly systemQueries = [
    // Authenticating looks a token up by its hash before any team is known.
    'findActiveByHash',
    // A hash is unique across teams: BERTH_ADMIN_TOKEN is registered once.
    'hashKnown',
  ] as const;

  constructor(private readonly tx: Transactions) {}

  private get rows() {
    return this.tx.repository(ApiToken);
  }

  findActiveByHash(tokenHash: string): Promise<ApiToken | null> {
    return this.rows.findOne({ where: { tokenHash, revokedAt: IsNull() } });
  }

  hashKnown(tokenHash: string): Promise<boolean> {
    return this.rows.exists({ where: { tokenHash } });
  }

  /** How many tokens the team has, revoked ones included. */
  count(scope: TeamScope): Promise<number> {
    return this.rows.count({ where: { teamId: teamIdOf(scope) } });
  }

  /** Stores a token of the scope's team (its `teamId` is the scope's). */
  async insert(scope: TeamScope, token: ApiToken): Promise<void> {
    await this.rows.insert({ ...token, teamId: teamIdOf(scope) });
  }
}
