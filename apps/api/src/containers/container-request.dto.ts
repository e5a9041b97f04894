import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';
import { ContainerStatus, RESOURCE_NAME, RESOURCE_NAME_RULE, WaitCondition } from '@berth/domain';
import { ToBoolean } from '../common/query-boolean';
import { ContainerResourcesDto } from './container-limits.dto';

/** Queries and bodies of the routes on a container (its creation is in container-create.dto.ts). */

export class ListContainersQueryDto {
  @ApiPropertyOptional({ enum: ContainerStatus, enumName: 'ContainerStatus', description: 'Only containers in this status' })
  @IsOptional()
  @IsIn(ContainerStatus)
  state?: ContainerStatus;

  @ApiPropertyOptional({ type: [String], description: '`key` or `key=value`; repeat to require several', example: ['app=web'] })
  @IsOptional()
  @Transform(({ value }) => (Array.isArray(value) ? value : [value]))
  @IsString({ each: true })
  label?: string[];

  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'From a previous page’s nextCursor' })
  @IsOptional()
  @IsString()
  cursor?: string;
}

export class StopQueryDto {
  @ApiPropertyOptional({ description: 'Seconds between SIGTERM and SIGKILL', default: 10, minimum: 0, maximum: 3600 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3600)
  timeout?: number;
}

export class KillQueryDto {
  @ApiPropertyOptional({ description: 'Signal name (SIGKILL, TERM) or number', default: 'SIGKILL' })
  @IsOptional()
  @IsString()
  @Matches(/^(SIG)?[A-Z0-9+-]+$|^[0-9]+$/, { message: 'signal must be a signal name like SIGTERM or a number' })
  signal?: string;
}

export class DeleteQueryDto {
  @ApiPropertyOptional({ description: 'Kill a running container first', default: false })
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  force?: boolean;
}

export class ContainerWaitQueryDto {
  @ApiPropertyOptional({ enum: WaitCondition, enumName: 'ContainerWaitCondition', default: 'not-running' })
  @IsOptional()
  @IsIn(WaitCondition)
  condition?: WaitCondition;

  @ApiPropertyOptional({ description: 'Seconds to wait at most (0–300)', default: 60, minimum: 0, maximum: 300 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(300)
  timeout?: number;
}

export class LogsQueryDto {
  @ApiPropertyOptional({ default: true }) @IsOptional() @ToBoolean() @IsBoolean() stdout?: boolean;
  @ApiPropertyOptional({ default: true }) @IsOptional() @ToBoolean() @IsBoolean() stderr?: boolean;
  @ApiPropertyOptional({ description: 'Only the last N lines' }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(1_000_000) tail?: number;
  @ApiPropertyOptional({ description: 'RFC 3339 time or Unix seconds: only lines at or after it' }) @IsOptional() @IsString() since?: string;
  @ApiPropertyOptional({ description: 'RFC 3339 time or Unix seconds: only lines before it' }) @IsOptional() @IsString() until?: string;
  @ApiPropertyOptional({ description: 'Keep the response open and stream new lines', default: false }) @IsOptional() @ToBoolean() @IsBoolean() follow?: boolean;
  @ApiPropertyOptional({ description: 'Prefix each text line with its RFC 3339 time', default: false })
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  timestamps?: boolean;
  @ApiPropertyOptional({ enum: ['text', 'ndjson'], enumName: 'LogFormat', default: 'text', description: '`ndjson`: one {stream,time,line} object per line' })
  @IsOptional()
  @IsIn(['text', 'ndjson'])
  format?: 'text' | 'ndjson';
}

@ApiSchema({ name: 'ExecRequest' })
export class ExecDto {
  @ApiProperty({ type: [String], example: ['sh', '-c', 'echo hi'] })
  @IsArray()
  @ArrayMaxSize(1024)
  @IsString({ each: true })
  @ArrayNotEmpty()
  cmd: string[];

  @ApiPropertyOptional({ type: [String], description: '`KEY=value` pairs over the container’s environment' })
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  @Matches(/^[^=\s]+=/, { each: true, message: 'each value in env must look like KEY=value' })
  env?: string[];

  @ApiPropertyOptional({ description: '`user`, `uid`, `user:group` or `uid:gid`; the container’s user when absent' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-zA-Z0-9_.-]+(:[a-zA-Z0-9_.-]+)?$/, { message: 'user must be user, uid, user:group or uid:gid' })
  user?: string;

  @ApiPropertyOptional({ example: '/tmp' })
  @IsOptional()
  @IsString()
  @Matches(/^\//, { message: 'workingDir must be an absolute path' })
  workingDir?: string;

  @ApiPropertyOptional({ description: 'Seconds before the process is killed (exit code 137)', default: 60, minimum: 1, maximum: 3600 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3600)
  timeoutSec?: number;
}

export class StatsQueryDto {
  @ApiPropertyOptional({ description: 'Keep the response open and send a sample (ndjson) every second until the container stops', default: false })
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  stream?: boolean;
}

@ApiSchema({ name: 'RenameContainerRequest' })
export class RenameContainerDto {
  @ApiProperty({ example: 'web-2', pattern: RESOURCE_NAME.source })
  @IsString()
  @Matches(RESOURCE_NAME, { message: `name ${RESOURCE_NAME_RULE}` })
  name: string;
}

@ApiSchema({ name: 'UpdateContainerRequest' })
export class UpdateContainerDto {
  @ApiProperty({ type: ContainerResourcesDto, description: 'Limits to change; ulimits and shmSizeBytes cannot change on a created container' })
  @ValidateNested()
  @Type(() => ContainerResourcesDto)
  resources: ContainerResourcesDto;
}
