import { Injectable } from '@nestjs/common';
import { In, Not } from 'typeorm';
import { Container, Image } from '@berth/domain';
import { TeamScope, teamIdOf } from '../common/auth-context';
import { Transactions } from '../database/transactions';

/** What a worker reports about an image it holds; the repository adds the id, team and host. */
export type NewImageRow = Omit<Image, 'id' | 'teamId' | 'hostId' | 'createdAt'>;

/**
 * Every query of images: one row per team, host and digest. A team reads and
 * writes only its own rows; only the clean-up of a host's store looks at what
 * every team holds there, since teams share the store.
 */
@Injectable()
export class ImagesRepository {
  /** The methods that span teams; every other one takes the caller's scope first. */
  static readonly systemQueries = [
    // A host's store is shared by teams: a blob goes only when no team holds its image there.
    'digestsOnHost',
  ] as const;

  constructor(private readonly tx: Transactions) {}

  private get rows() {
    return this.tx.repository(Image);
  }

  /** The team's rows, oldest first (or newest first). */
  list(scope: TeamScope, order: 'ASC' | 'DESC' = 'ASC'): Promise<Image[]> {
    return this.rows.find({ where: { teamId: teamIdOf(scope) }, order: { createdAt: order } });
  }

  /** The team's rows on one host. */
  listOnHost(scope: TeamScope, hostId: string): Promise<Image[]> {
    return this.rows.find({ where: { teamId: teamIdOf(scope), hostId } });
  }

  findOnHost(scope: TeamScope, hostId: string, digest: string): Promise<Image | null> {
    return this.rows.findOneBy({ teamId: teamIdOf(scope), hostId, digest });
  }

  async insert(scope: TeamScope, id: string, hostId: string, image: NewImageRow, createdAt = new Date()): Promise<void> {
    await this.rows.insert({ ...image, id, teamId: teamIdOf(scope), hostId, createdAt });
  }

  async update(scope: TeamScope, id: string, changes: Partial<Pick<Image, 'references' | 'history'>>): Promise<void> {
    await this.rows.update({ id, teamId: teamIdOf(scope) }, changes);
  }

  /** Forgets the team's images with these digests, on every host. */
  async deleteDigests(scope: TeamScope, digests: string[]): Promise<void> {
    if (!digests.length) return;
    await this.rows.delete({ teamId: teamIdOf(scope), digest: In(digests) });
  }

  /** Every digest some team holds on the host. */
  async digestsOnHost(hostId: string): Promise<string[]> {
    const held = await this.rows.find({ where: { hostId }, select: { digest: true } });
    return [...new Set(held.map((r) => r.digest))];
  }

  /**
   * The team's containers (other than failed ones) made from one of the digests: an
   * image they use is not deleted unless forced. Read here, not through the
   * containers feature, because that feature depends on this one.
   */
  async containersUsing(scope: TeamScope, digests: string[]): Promise<Container[]> {
    if (!digests.length) return [];
    const all = await this.tx.repository(Container).find({ where: { teamId: teamIdOf(scope), status: Not('failed') } });
    return all.filter((c) => c.spec.imageDigest !== undefined && digests.includes(c.spec.imageDigest));
  }
}
