import { Column, Entity, Index, PrimaryColumn, VersionColumn } from 'typeorm';
import type { ContainerSpec } from '../container-spec';
import type { ContainerStatus, DesiredState } from '../container-state';
import type { SerializedError } from '../errors';
import { jsonColumn, timestampColumn } from './column-types';

@Entity({ name: 'containers' })
@Index(['teamId', 'name'], { unique: true })
@Index(['teamId', 'id'])
export class Container {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 40 })
  teamId: string;

  @Column({ type: 'varchar', length: 128 })
  name: string;

  @Index()
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

  @Column(jsonColumn({ nullable: true }))
  error: SerializedError | null;

  /** The highest report sequence applied, so stale reports are ignored. */
  @Column({ type: 'bigint', default: 0, transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) } })
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
