import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { jsonColumn, timestampColumn } from './column-types';
import { Host } from './host.entity';
import { Team } from './team.entity';

/**
 * A named volume: a directory the worker of its host owns, outliving the
 * containers that mount it. Its data lives on that host, so containers that
 * mount it are scheduled there.
 */
@Entity({ name: 'volumes' })
@Index('IDX_volumes_team_name', ['teamId', 'name'], { unique: true })
export class Volume {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @ForeignKey(() => Team)
  @Column({ type: 'varchar', length: 40 })
  teamId: string;

  @Column({ type: 'varchar', length: 128 })
  name: string;

  @ForeignKey(() => Host)
  @Column({ type: 'varchar', length: 40 })
  hostId: string;

  @Column({ type: 'varchar', length: 16 })
  driver: 'local';

  @Column(jsonColumn())
  labels: Record<string, string>;

  @Column(timestampColumn())
  createdAt: Date;
}
