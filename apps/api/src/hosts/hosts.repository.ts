import { Injectable } from '@nestjs/common';
import { In, LessThan } from 'typeorm';
import { Container, Host, Image, Volume } from '@berth/domain';
import { TeamScope, teamIdOf } from '../common/auth-context';
import { Transactions } from '../database/transactions';

/**
 * Every query of hosts, and the few the hosts feature asks of other tables (what
 * is still on a host, how loaded hosts are). A team sees its own hosts and the
 * shared pool (the admin team's); the host protocol and the liveness sweep work on
 * hosts by id or all at once.
 */
@Injectable()
export class HostsRepository {
  static readonly systemQueries = [
    // Containers, volumes and jobs name their host by id, whichever team's pool it is in.
    'byId',
    // The liveness sweep covers every team's hosts.
    'markDown',
    'markUnreachable',
    // Whether any team still has something on a host decides if it may go.
    'containersOn',
    'volumesOn',
    // Forgetting a host takes every team's image records of it.
    'removeWithImages',
    // A host's load is every team's containers on it.
    'containerCounts',
  ] as const;

  constructor(private readonly tx: Transactions) {}

  private get rows() {
    return this.tx.repository(Host);
  }

  findByName(scope: TeamScope, name: string): Promise<Host | null> {
    return this.rows.findOneBy({ teamId: teamIdOf(scope), name });
  }

  async insert(scope: TeamScope, host: Host): Promise<void> {
    await this.rows.insert({ ...host, teamId: teamIdOf(scope) });
  }

  /** Writes what a heartbeat says of one of the scope's hosts. */
  async recordHeartbeat(scope: TeamScope, id: string, changes: Pick<Host, 'info' | 'status' | 'lastHeartbeatAt'>): Promise<void> {
    await this.rows.update({ id, teamId: teamIdOf(scope) }, changes);
  }

  /** The hosts of the scope's team and of the shared pool, by name. */
  visible(scope: TeamScope, pool: TeamScope): Promise<Host[]> {
    return this.rows.find({ where: { teamId: In(visibleTeamIds(scope, pool)) }, order: { name: 'ASC' } });
  }

  /** One host of the scope's team or of the shared pool, by id or name. */
  findVisible(scope: TeamScope, pool: TeamScope, idOrName: string): Promise<Host | null> {
    const teamId = In(visibleTeamIds(scope, pool));
    return this.rows.findOne({
      where: [
        { id: idOrName, teamId },
        { name: idOrName, teamId },
      ],
    });
  }

  /** The ids of the hosts where the scope's team holds an image. */
  async holdingImage(scope: TeamScope, digest: string): Promise<Set<string>> {
    const images = await this.tx.repository(Image).find({ where: { teamId: teamIdOf(scope), digest }, select: { hostId: true } });
    return new Set(images.map((i) => i.hostId));
  }

  byId(id: string): Promise<Host> {
    return this.rows.findOneByOrFail({ id });
  }

  /** Hosts silent since `before` that were ready or unreachable are down. */
  async markDown(before: Date): Promise<void> {
    await this.rows.update({ status: In(['ready', 'unreachable']), lastHeartbeatAt: LessThan(before) }, { status: 'down' });
  }

  /** Ready hosts silent since `before` are unreachable. */
  async markUnreachable(before: Date): Promise<void> {
    await this.rows.update({ status: 'ready', lastHeartbeatAt: LessThan(before) }, { status: 'unreachable' });
  }

  containersOn(hostId: string): Promise<number> {
    return this.tx.repository(Container).count({ where: { hostId } });
  }

  volumesOn(hostId: string): Promise<number> {
    return this.tx.repository(Volume).count({ where: { hostId } });
  }

  /** Deletes the host and the image records of it. */
  async removeWithImages(hostId: string): Promise<void> {
    await this.tx.repository(Image).delete({ hostId });
    await this.rows.delete({ id: hostId });
  }

  /** How many containers each of these hosts has (hosts without any are absent). */
  async containerCounts(hostIds: string[]): Promise<Map<string, number>> {
    const counts = await this.tx.manager
      .createQueryBuilder()
      .select('c.hostId', 'hostId')
      .addSelect('COUNT(*)', 'n')
      .from('containers', 'c')
      .where('c.hostId IN (:...ids)', { ids: hostIds })
      .groupBy('c.hostId')
      .getRawMany<{ hostId: string; n: string }>();
    return new Map(counts.map((r) => [r.hostId, Number(r.n)]));
  }
}

function visibleTeamIds(scope: TeamScope, pool: TeamScope): string[] {
  return [...new Set([teamIdOf(pool), teamIdOf(scope)])];
}
