import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { Container, NotFoundError, Volume } from '@berth/domain';
import { TeamScope, teamIdOf } from '../common/auth-context';
import { Transactions } from '../database/transactions';

/** A container that mounts a volume, as a volume lists its users. */
export type VolumeUser = Pick<Container, 'id' | 'name'>;

/** Every query of volumes; each one is the team's (no volume query spans teams). */
@Injectable()
export class VolumesRepository {
  static readonly systemQueries = [] as const;

  constructor(private readonly tx: Transactions) {}

  private get rows() {
    return this.tx.repository(Volume);
  }

  /** Writes a volume; the unique index on (team, name) refuses a second of one name (the error is the driver's). */
  async insert(scope: TeamScope, volume: Volume): Promise<void> {
    await this.rows.insert({ ...volume, teamId: teamIdOf(scope) });
  }

  /** Newest first. */
  list(scope: TeamScope): Promise<Volume[]> {
    return this.rows.find({ where: { teamId: teamIdOf(scope) }, order: { createdAt: 'DESC' } });
  }

  /** In the order they are stored. */
  all(scope: TeamScope): Promise<Volume[]> {
    return this.rows.find({ where: { teamId: teamIdOf(scope) } });
  }

  /** By id or by name; 404 VolumeNotFound when the team has none. */
  async get(scope: TeamScope, idOrName: string): Promise<Volume> {
    const teamId = teamIdOf(scope);
    const found = await this.rows.findOne({
      where: [
        { teamId, id: idOrName },
        { teamId, name: idOrName },
      ],
    });
    if (!found) throw new NotFoundError(`volume ${idOrName} not found`, 'VolumeNotFound');
    return found;
  }

  findByName(scope: TeamScope, name: string): Promise<Volume | null> {
    return this.rows.findOneBy({ teamId: teamIdOf(scope), name });
  }

  findByNames(scope: TeamScope, names: string[]): Promise<Volume[]> {
    return this.rows.find({ where: { teamId: teamIdOf(scope), name: In(names) } });
  }

  async delete(scope: TeamScope, ids: string[]): Promise<void> {
    await this.rows.delete({ teamId: teamIdOf(scope), id: In(ids) });
  }

  /** Volume id → the team's containers that mount it (mounts live in the containers' JSON spec, so they are read here). */
  async usersByVolume(scope: TeamScope): Promise<Map<string, VolumeUser[]>> {
    const out = new Map<string, VolumeUser[]>();
    const containers = await this.tx.repository(Container).find({ where: { teamId: teamIdOf(scope) }, select: { id: true, name: true, spec: true } });
    for (const c of containers) {
      for (const m of c.spec.mounts ?? []) {
        if (m.type !== 'volume' || !m.volumeId) continue;
        out.set(m.volumeId, [...(out.get(m.volumeId) ?? []).filter((u) => u.id !== c.id), { id: c.id, name: c.name }]);
      }
    }
    return out;
  }
}
