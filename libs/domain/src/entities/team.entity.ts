import { Column, Entity, PrimaryColumn } from 'typeorm';
import { timestampColumn } from './column-types';

@Entity({ name: 'teams' })
export class Team {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 63, unique: true })
  name: string;

  /** Administrators may create teams and set policy; the bootstrap team is one. */
  @Column({ type: 'boolean', default: false })
  admin: boolean;

  @Column(timestampColumn())
  createdAt: Date;
}
