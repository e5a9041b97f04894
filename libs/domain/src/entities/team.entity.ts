import { Column, Entity, PrimaryColumn } from 'typeorm';
import { jsonColumn, timestampColumn } from './column-types';

/** What a team's containers may ask for beyond Docker's defaults. Admins set it. */
export interface TeamPolicy {
  allowPrivileged: boolean;
  /** Capabilities the team may add (`NET_ADMIN`, …); `ALL` allows any. */
  allowedCapabilities: string[];
  /** Host directories (absolute) under which bind mounts are allowed; none by default. */
  allowedBindPaths?: string[];
  /** Containers may use the host's network stack (`networkMode: host`). */
  allowHostNetwork?: boolean;
}

export const DEFAULT_TEAM_POLICY: TeamPolicy = { allowPrivileged: false, allowedCapabilities: [], allowedBindPaths: [], allowHostNetwork: false };

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

  /** Null means the default policy: nothing beyond Docker's defaults. */
  @Column(jsonColumn({ nullable: true }))
  policy: TeamPolicy | null;
}
