import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { ImageConfigSummary, ImageHistoryEntry } from '../protocol';
import { bigintColumn, jsonColumn, timestampColumn } from './column-types';
import { Host } from './host.entity';
import { Team } from './team.entity';

/**
 * An image a team holds on a host. The reference → digest mapping is the team's
 * own: a worker's content store is shared, but a team can only name what it loaded.
 */
@Entity({ name: 'images' })
@Index('IDX_images_team_host_digest', ['teamId', 'hostId', 'digest'], { unique: true })
export class Image {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @ForeignKey(() => Team)
  @Column({ type: 'varchar', length: 40 })
  teamId: string;

  @ForeignKey(() => Host)
  @Column({ type: 'varchar', length: 40 })
  hostId: string;

  /** Manifest digest. */
  @Column({ type: 'varchar', length: 71 })
  digest: string;

  @Column({ type: 'varchar', length: 71 })
  configDigest: string;

  /** Normalized references (`docker.io/library/busybox:latest`). */
  @Column(jsonColumn())
  references: string[];

  @Column(bigintColumn())
  sizeBytes: number;

  @Column(jsonColumn())
  config: ImageConfigSummary;

  @Column({ type: 'varchar', length: 16 })
  os: string;

  @Column({ type: 'varchar', length: 16 })
  architecture: string;

  /** The config's build history, newest first (docker history). */
  @Column(jsonColumn({ nullable: true }))
  history: ImageHistoryEntry[] | null;

  @Column(timestampColumn())
  createdAt: Date;
}
