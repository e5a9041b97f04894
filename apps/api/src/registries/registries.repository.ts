import { Injectable } from '@nestjs/common';
import { RegistryCredential } from '@berth/domain';
import { TeamScope, teamIdOf } from '../common/auth-context';
import { Transactions } from '../database/transactions';

/**
 * Every query of registry logins. A team reads and writes only its own.
 */
@Injectable()
export class RegistriesRepository {
  /** None spans teams: every method takes the caller's scope first. */
  static readonly systemQueries = [] as const;

  constructor(private readonly tx: Transactions) {}

  private get rows() {
    return this.tx.repository(RegistryCredential);
  }

  /** The team's logins, by server. */
  list(scope: TeamScope): Promise<RegistryCredential[]> {
    return this.rows.find({ where: { teamId: teamIdOf(scope) }, order: { server: 'ASC' } });
  }

  findById(scope: TeamScope, id: string): Promise<RegistryCredential | null> {
    return this.rows.findOneBy({ teamId: teamIdOf(scope), id });
  }

  findByServer(scope: TeamScope, server: string): Promise<RegistryCredential | null> {
    return this.rows.findOneBy({ teamId: teamIdOf(scope), server });
  }

  /** Writes a login of the team, new or replacing the row with its id. */
  async save(scope: TeamScope, credential: RegistryCredential): Promise<void> {
    await this.rows.save({ ...credential, teamId: teamIdOf(scope) });
  }

  async delete(scope: TeamScope, id: string): Promise<void> {
    await this.rows.delete({ teamId: teamIdOf(scope), id });
  }
}
