import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { HostInfo } from '../protocol';
import { jsonColumn, timestampColumn } from './column-types';
import { Team } from './team.entity';

export const HostStatus = ['ready', 'unreachable', 'down'] as const;
export type HostStatus = (typeof HostStatus)[number];

/**
 * A machine running a worker. Hosts registered by a worker belong to the admin
 * team and serve every team (a shared pool); the team column is the owner.
 */
@Entity({ name: 'hosts' })
@Index('IDX_hosts_team_name', ['teamId', 'name'], { unique: true })
export class Host {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @ForeignKey(() => Team)
  @Column({ type: 'varchar', length: 40 })
  teamId: string;

  @Column({ type: 'varchar', length: 63 })
  name: string;

  @Column({ type: 'varchar', length: 16 })
  status: HostStatus;

  @Column(jsonColumn())
  info: HostInfo;

  @Column(timestampColumn())
  lastHeartbeatAt: Date;

  @Column(timestampColumn())
  createdAt: Date;
}
