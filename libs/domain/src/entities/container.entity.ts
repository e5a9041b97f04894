import { Column, Entity, ForeignKey, Index, PrimaryColumn, VersionColumn } from 'typeorm';
import type { ContainerHealth, ContainerSpec } from '../container-spec';
import type { ContainerStatus, DesiredState } from '../container-state';
import type { SerializedError } from '../errors';
import { bigintColumn, jsonColumn, timestampColumn } from './column-types';
import { Host } from './host.entity';
import { Team } from './team.entity';

@Entity({ name: 'containers' })
@Index('IDX_containers_team_name', ['teamId', 'name'], { unique: true })
@Index('IDX_containers_team_id', ['teamId', 'id'])
@Index('IDX_containers_host', ['hostId'])
export class Container {
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

  /** The spec the worker converges to; `generation` grows with every change of it. */
  @Column(jsonColumn())
  spec: ContainerSpec;

  @Column({ type: 'varchar', length: 16 })
  desiredState: DesiredState;

  @Column({ type: 'integer' })
  generation: number;

  @Column({ type: 'varchar', length: 16 })
  status: ContainerStatus;

  @Column({ type: 'integer', nullable: true })
  exitCode: number | null;

  @Column({ type: 'integer', nullable: true })
  pid: number | null;

  @Column({ type: 'boolean', default: false })
  oomKilled: boolean;

  /** Restarts made under the restart policy since the user last started it. */
  @Column({ type: 'integer', default: 0 })
  restartCount: number;

  /** The health check's verdict for the current start; null without a health check. */
  @Column(jsonColumn({ nullable: true }))
  health: ContainerHealth | null;

  @Column(jsonColumn({ nullable: true }))
  error: SerializedError | null;

  /** The highest report sequence applied, so stale reports are ignored. */
  @Column(bigintColumn({ default: 0 }))
  reportSeq: number;

  @Column(timestampColumn({ nullable: true }))
  startedAt: Date | null;

  @Column(timestampColumn({ nullable: true }))
  finishedAt: Date | null;

  @Column(timestampColumn())
  createdAt: Date;

  @Column(timestampColumn())
  updatedAt: Date;

  /** Optimistic lock: concurrent writers (API requests, reports) never lose an update. */
  @VersionColumn()
  version: number;
}

/** What a new container is given; everything else starts as nothing observed yet. */
export type NewContainer = Pick<Container, 'id' | 'teamId' | 'name' | 'hostId' | 'spec' | 'desiredState'>;

/** A container as the control plane first writes it: `pending` at generation 1, until its host reports. */
export function newContainer(fields: NewContainer, now = new Date()): Container {
  return Object.assign(new Container(), {
    ...fields,
    generation: 1,
    status: 'pending' as const,
    exitCode: null,
    pid: null,
    oomKilled: false,
    restartCount: 0,
    health: null,
    error: null,
    reportSeq: 0,
    startedAt: null,
    finishedAt: null,
    createdAt: now,
    updatedAt: now,
  });
}
