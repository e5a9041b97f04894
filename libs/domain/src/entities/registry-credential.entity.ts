import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { timestampColumn } from './column-types';
import { Team } from './team.entity';

/**
 * A team's login to a registry. The secret (password or token) is kept encrypted
 * (AES-256-GCM, bound to the row) and never leaves the API in a response.
 */
@Entity({ name: 'registry_credentials' })
@Index('IDX_registry_credentials_team_server', ['teamId', 'server'], { unique: true })
export class RegistryCredential {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @ForeignKey(() => Team)
  @Column({ type: 'varchar', length: 40 })
  teamId: string;

  /** The registry as references name it: `host[:port]`, `docker.io` for Docker Hub. */
  @Column({ type: 'varchar', length: 255 })
  server: string;

  @Column({ type: 'varchar', length: 255 })
  username: string;

  /** `v1.<iv>.<tag>.<ciphertext>`, base64url. */
  @Column({ type: 'text' })
  secretSealed: string;

  @Column(timestampColumn())
  createdAt: Date;

  @Column(timestampColumn())
  updatedAt: Date;
}
