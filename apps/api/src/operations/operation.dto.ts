import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { Operation, OperationKind, OperationStatus, TargetKind } from '@berth/domain';
import { ErrorDto } from '../common/problem';

@ApiSchema({ name: 'OperationProgress' })
export class OperationProgressDto {
  @ApiProperty() layersDone: number;
  @ApiProperty() layersTotal: number;
  @ApiProperty() bytesDone: number;
  @ApiProperty() bytesTotal: number;
}

@ApiSchema({ name: 'Operation' })
export class OperationDto {
  @ApiProperty({ example: 'op_01jd8x6w3q0000000000000000' }) id: string;
  @ApiProperty({ enum: OperationKind, enumName: 'OperationKind' }) kind: OperationKind;
  @ApiProperty({ enum: OperationStatus, enumName: 'OperationStatus' }) status: OperationStatus;
  @ApiProperty({ enum: TargetKind, enumName: 'OperationTargetKind' }) targetKind: TargetKind;
  @ApiProperty() targetId: string;
  @ApiProperty() hostId: string;
  @ApiPropertyOptional({ type: ErrorDto, nullable: true }) error: ErrorDto | null;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true }) result: Record<string, unknown> | null;
  @ApiPropertyOptional({ type: OperationProgressDto, nullable: true, description: 'Layers and bytes done so far (pulls)' })
  progress: OperationProgressDto | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt: string | null;
}

export function toOperationDto(op: Operation): OperationDto {
  return {
    id: op.id,
    kind: op.kind,
    status: op.status,
    targetKind: op.targetKind,
    targetId: op.targetId,
    hostId: op.hostId,
    error: op.error,
    result: op.result,
    progress: op.progress ?? null,
    createdAt: op.createdAt.toISOString(),
    startedAt: op.startedAt?.toISOString() ?? null,
    finishedAt: op.finishedAt?.toISOString() ?? null,
  };
}

export class WaitQueryDto {
  @ApiPropertyOptional({ description: 'Seconds to wait at most (0–300)', default: 30, minimum: 0, maximum: 300 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(300)
  timeout?: number;
}
