import { Injectable } from '@nestjs/common';
import { Brackets } from 'typeorm';
import {
  AlreadyExistsError,
  Container,
  ContainerStatus,
  DEFAULT_TEAM_POLICY,
  LabelFilter,
  NotFoundError,
  Team,
  TeamPolicy,
  matchesLabelFilters,
} from '@berth/domain';
import { TeamScope, teamIdOf } from '../common/auth-context';
import { isUniqueViolation } from '../common/unique-violation';
import { Transactions } from '../database/transactions';
import { updateVersioned } from '../database/versioned';

export interface ContainerListQuery {
  state?: ContainerStatus;
  labels: readonly LabelFilter[];
  /** Only ids below this one (the page cursor). */
  before?: string;
  limit: number;
}

/** Pages of the team's containers read while filtering by label, at most. */
const LABEL_FILTER_ROUNDS = 50;

/**
 * Every query of containers. Each one is a team's: it takes the caller's scope
 * first and reads or writes that team's rows only. Changes are conditional on the
 * version read (`update`), so a concurrent change fails instead of being lost.
 */
@Injectable()
export class ContainersRepository {
  /** None: the containers feature never reads across teams (the reports consumer and the worker's host protocol update containers in their own feature). */
  static readonly systemQueries = [] as const;

  constructor(private readonly tx: Transactions) {}

  private get rows() {
    return this.tx.repository(Container);
  }

  /** By id or by name. */
  findByIdOrName(scope: TeamScope, idOrName: string): Promise<Container | null> {
    const teamId = teamIdOf(scope);
    return this.rows.findOne({
      where: [
        { teamId, id: idOrName },
        { teamId, name: idOrName },
      ],
    });
  }

  /** By id or by name; ContainerNotFound when the team has no such container. */
  async get(scope: TeamScope, idOrName: string): Promise<Container> {
    const c = await this.findByIdOrName(scope, idOrName);
    if (!c) throw new NotFoundError(`container ${idOrName} not found`, 'ContainerNotFound');
    return c;
  }

  findById(scope: TeamScope, id: string): Promise<Container | null> {
    return this.rows.findOneBy({ teamId: teamIdOf(scope), id });
  }

  nameTaken(scope: TeamScope, name: string): Promise<boolean> {
    return this.rows.exists({ where: { teamId: teamIdOf(scope), name } });
  }

  /** Writes a new container of the team; ContainerNameInUse when the name was taken meanwhile (the unique index says so). */
  async insert(scope: TeamScope, container: Container): Promise<void> {
    assertTeam(scope, container);
    await this.rows.insert(container).catch((err) => {
      throw isUniqueViolation(err) ? nameInUse(container.name) : err;
    });
  }

  /** Writes `changes` (and the time) if nobody changed the container since it was read (ConcurrentChange otherwise); answers it with the changes applied. */
  update(scope: TeamScope, container: Container, changes: Partial<Container>): Promise<Container> {
    assertTeam(scope, container);
    return updateVersioned(this.rows, container, { ...changes, updatedAt: new Date() }, 'container');
  }

  /**
   * The team's containers, newest id first: in `state` if given, below `before`,
   * with every label filter passing. Labels live in the JSON spec, so they are
   * filtered here, in pages of `limit + 1` rows, until more than `limit` match or
   * 50 pages were read. Answers what matched (more than `limit` when there is a next page).
   */
  async list(scope: TeamScope, query: ContainerListQuery): Promise<Container[]> {
    const { limit } = query;
    const qb = this.rows.createQueryBuilder('c').where('c.teamId = :teamId', { teamId: teamIdOf(scope) });
    if (query.state) qb.andWhere('c.status = :status', { status: query.state });
    if (query.before) qb.andWhere('c.id < :after', { after: query.before });
    const items: Container[] = [];
    let after: string | undefined;
    for (let round = 0; round < LABEL_FILTER_ROUNDS && items.length <= limit; round++) {
      const q = qb
        .clone()
        .orderBy('c.id', 'DESC')
        .take(limit + 1);
      if (after) q.andWhere(new Brackets((w) => w.where('c.id < :page', { page: after })));
      const batch = await q.getMany();
      items.push(...batch.filter((c) => matchesLabelFilters(c.spec.labels, query.labels)));
      if (batch.length < limit + 1) break;
      after = batch[batch.length - 1].id;
    }
    return items;
  }

  /**
   * The team's policy (the default when it has none). The Team table is the teams
   * feature's; this one read stays here until that feature exports it.
   */
  async teamPolicy(scope: TeamScope): Promise<TeamPolicy> {
    const team = await this.tx.repository(Team).findOneByOrFail({ id: teamIdOf(scope) });
    return team.policy ?? DEFAULT_TEAM_POLICY;
  }
}

export function nameInUse(name: string): AlreadyExistsError {
  return new AlreadyExistsError(`a container named "${name}" already exists`, 'ContainerNameInUse');
}

/** A write through one team's scope of another team's row is a bug, never a request. */
function assertTeam(scope: TeamScope, container: Container): void {
  if (container.teamId !== teamIdOf(scope)) throw new Error(`container ${container.id} is not of team ${scope.teamId}`);
}
