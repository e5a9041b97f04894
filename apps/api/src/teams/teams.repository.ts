import { Injectable } from '@nestjs/common';
import { Team, TeamPolicy } from '@berth/domain';
import { TeamScope, teamIdOf } from '../common/auth-context';
import { Transactions } from '../database/transactions';

/**
 * Every query of teams. A team's own row is read and written through its scope;
 * names are unique across teams, so looking one up or creating a team has no
 * caller's team to filter by.
 */
@Injectable()
export class TeamsRepository {
  static readonly systemQueries = [
    // Team names are unique across all teams (the admin team is found by its name).
    'findByName',
    'nameInUse',
    // A new team has no scope until it exists.
    'insert',
    'insertIfNameFree',
  ] as const;

  constructor(private readonly tx: Transactions) {}

  private get rows() {
    return this.tx.repository(Team);
  }

  /** The scope's own team; it exists whenever a caller was authenticated as it. */
  get(scope: TeamScope): Promise<Team> {
    return this.rows.findOneByOrFail({ id: teamIdOf(scope) });
  }

  findByName(name: string): Promise<Team | null> {
    return this.rows.findOneBy({ name });
  }

  nameInUse(name: string): Promise<boolean> {
    return this.rows.exists({ where: { name } });
  }

  async insert(team: Team): Promise<void> {
    await this.rows.insert(team);
  }

  /** Inserts the team unless one of that name exists (two API replicas starting at once create one admin team). */
  async insertIfNameFree(team: Team): Promise<void> {
    await this.rows.createQueryBuilder().insert().values(team).orIgnore().execute();
  }

  /** Replaces the team's policy; false if there is no such team. */
  async setPolicy(scope: TeamScope, policy: TeamPolicy): Promise<boolean> {
    const res = await this.rows.update({ id: teamIdOf(scope) }, { policy });
    return !!res.affected;
  }
}
