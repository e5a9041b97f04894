import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import type { SerializedError } from '../errors';
import type { OperationKind, OperationProgress, OperationStatus, TargetKind } from '../operation';
import { jsonColumn, timestampColumn } from './column-types';
import { Team } from './team.entity';

/** A unit of work a worker carries out. Its id is the BullMQ job id. */
@Entity({ name: 'operations' })
@Index('IDX_operations_team_id', ['teamId', 'id'])
@Index('IDX_operations_status_created', ['status', 'createdAt'])
export class Operation {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @ForeignKey(() => Team)
  @Column({ type: 'varchar', length: 40 })
  teamId: string;

  @Column({ type: 'varchar', length: 32 })
  kind: OperationKind;

  @Column({ type: 'varchar', length: 16 })
  targetKind: TargetKind;

  @Column({ type: 'varchar', length: 80 })
  targetId: string;

  @Column({ type: 'varchar', length: 40 })
  hostId: string;

  @Column({ type: 'varchar', length: 16 })
  status: OperationStatus;

  @Column(jsonColumn({ nullable: true }))
  error: SerializedError | null;

  /** The job to enqueue (name and payload), kept so the dispatcher can enqueue it again. */
  @Column(jsonColumn())
  job: { name: string; queue: string; payload: unknown };

  /** What the operation produced, e.g. the images a load found. */
  @Column(jsonColumn({ nullable: true }))
  result: Record<string, unknown> | null;

  /** How far a long job got (a pull's layers and bytes); null until it says. */
  @Column(jsonColumn({ nullable: true }))
  progress: OperationProgress | null;

  @Column(timestampColumn())
  createdAt: Date;

  @Column(timestampColumn({ nullable: true }))
  enqueuedAt: Date | null;

  @Column(timestampColumn({ nullable: true }))
  startedAt: Date | null;

  @Column(timestampColumn({ nullable: true }))
  finishedAt: Date | null;
}
