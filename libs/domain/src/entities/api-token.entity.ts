import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { timestampColumn } from './column-types';
import { Team } from './team.entity';

/** A bearer token. Only its SHA-256 is stored; the secret is shown once. */
@Entity({ name: 'api_tokens' })
@Index('IDX_api_tokens_team', ['teamId'])
@Index('IDX_api_tokens_hash', ['tokenHash'], { unique: true })
export class ApiToken {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @ForeignKey(() => Team, { onDelete: 'CASCADE' })
  @Column({ type: 'varchar', length: 40 })
  teamId: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 64 })
  tokenHash: string;

  /** The first characters of the secret, to tell tokens apart in listings. */
  @Column({ type: 'varchar', length: 16 })
  prefix: string;

  @Column(timestampColumn())
  createdAt: Date;

  @Column(timestampColumn({ nullable: true }))
  revokedAt: Date | null;
}
