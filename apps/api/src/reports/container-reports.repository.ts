import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { Container, ContainerSpec } from '@berth/domain';
import { Transactions } from '../database/transactions';

/**
 * The container writes that workers' reports make. A report names a container by
 * id, whichever team's it is, so every query here spans teams; the per-container
 * report sequence (not the optimistic lock) orders a worker's observations.
 */
@Injectable()
export class ContainerReportsRepository {
  static readonly systemQueries = [
    // Reports come from hosts and name containers by id, across teams.
    'find',
    'update',
    'remove',
    // A restarted worker's inventory covers every team's containers on its host.
    'activeOn',
    'setSpec',
  ] as const;

  constructor(private readonly tx: Transactions) {}

  private get rows() {
    return this.tx.repository(Container);
  }

  /**
   * The row a report changes. On PostgreSQL, inside the report's transaction, it is
   * locked until the commit: replicas apply reports side by side, and the second
   * to come must see what the first wrote (a newer sequence, a finished status).
   */
  find(id: string): Promise<Container | null> {
    const lock = this.tx.dialect === 'postgres' && this.tx.inTransaction ? { mode: 'pessimistic_write' as const } : undefined;
    return this.rows.findOne({ where: { id }, lock });
  }

  /** Writes what a report observed. The changes bump the version, so a user's change based on the row read before is refused. */
  async update(id: string, changes: Partial<Omit<Container, 'id' | 'spec'>>): Promise<void> {
    await this.rows.update({ id }, changes);
  }

  async setSpec(id: string, spec: ContainerSpec): Promise<void> {
    await this.rows.update({ id }, { spec });
  }

  async remove(id: string): Promise<void> {
    await this.rows.delete({ id });
  }

  /** The containers a host should still have: created, running, exited, or being removed. */
  activeOn(hostId: string): Promise<Container[]> {
    return this.rows.find({ where: { hostId, status: In(['created', 'running', 'exited', 'removing']) } });
  }
}
