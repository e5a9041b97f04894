import { Injectable } from '@nestjs/common';
import { AlreadyExistsError, DEFAULT_TEAM_POLICY, NotFoundError, Team, TeamPolicy, newId, normalizeHostPath } from '@berth/domain';
import { TeamScope } from '../common/auth-context';
import { Transactions } from '../database/transactions';
import { AuthService } from './auth.service';
import { TeamsRepository } from './teams.repository';

/** Teams: creating one with its first token, and what its containers may ask for (admins decide; the auth guard checks). */
@Injectable()
export class TeamsService {
  constructor(
    private readonly tx: Transactions,
    private readonly teams: TeamsRepository,
    private readonly auth: AuthService,
  ) {}

  /** A new team and its first API token, whose secret is answered once and never stored. */
  async create(name: string): Promise<{ team: Team; token: string }> {
    const team = await this.tx.run(async () => {
      if (await this.teams.nameInUse(name)) throw new AlreadyExistsError(`team "${name}" already exists`, 'TeamNameInUse');
      const row = Object.assign(new Team(), { id: newId('team'), name, admin: false, createdAt: new Date(), policy: null });
      await this.teams.insert(row);
      return row;
    });
    const { secret } = await this.auth.issueToken({ teamId: team.id }, 'initial');
    return { team, token: secret };
  }

  /** Replaces a team's policy (bind paths normalized, host network off unless asked) and answers the team. */
  async setPolicy(scope: TeamScope, policy: TeamPolicy): Promise<Team> {
    const stored: TeamPolicy = {
      allowPrivileged: policy.allowPrivileged,
      allowedCapabilities: policy.allowedCapabilities,
      allowedBindPaths: (policy.allowedBindPaths ?? []).map(normalizeHostPath),
      allowHostNetwork: policy.allowHostNetwork === true,
    };
    const found = await this.tx.run(() => this.teams.setPolicy(scope, stored));
    if (!found) throw new NotFoundError(`team ${scope.teamId} not found`, 'TeamNotFound');
    return this.teams.get(scope);
  }

  /** What the team's containers may ask for: its policy, or the default (nothing beyond Docker's defaults) if none was set. */
  async policyOf(scope: TeamScope): Promise<TeamPolicy> {
    return (await this.teams.get(scope)).policy ?? DEFAULT_TEAM_POLICY;
  }
}
