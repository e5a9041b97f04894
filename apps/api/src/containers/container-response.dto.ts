import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Container, ContainerStatus, DesiredState, NetworkMode, PullPolicy, WaitCondition } from '@berth/domain';
import { ErrorDto } from '../common/problem';
import { OperationDto } from '../operations/operation.dto';
import { ContainerResourcesDto, ContainerSecurityDto } from './container-limits.dto';
import { ContainerHealthDto, ContainerMountDto, ContainerNetworkDto, DnsDto, HealthcheckDto, PortDto, RestartPolicyDto } from './container-parts.dto';

@ApiSchema({ name: 'Container' })
export class ContainerDto {
  @ApiProperty({ example: 'ctr_01jd8x6w3q0000000000000000' }) id: string;
  @ApiProperty({ example: 'web-1' }) name: string;
  @ApiProperty({ example: 'docker.io/library/busybox:latest' }) image: string;
  @ApiProperty({ type: String, nullable: true, example: 'sha256:…' }) imageDigest: string | null;
  @ApiProperty({ enum: PullPolicy, enumName: 'PullPolicy' }) pullPolicy: PullPolicy;
  @ApiProperty({ enum: ContainerStatus, enumName: 'ContainerStatus' }) status: ContainerStatus;
  @ApiProperty({ enum: DesiredState, enumName: 'ContainerDesiredState' }) desiredState: DesiredState;
  @ApiProperty() generation: number;
  @ApiProperty() hostId: string;
  @ApiPropertyOptional({ type: [String], nullable: true }) cmd: string[] | null;
  @ApiPropertyOptional({ type: [String], nullable: true }) entrypoint: string[] | null;
  @ApiProperty({ type: [String] }) env: string[];
  @ApiProperty({ type: String, nullable: true }) workingDir: string | null;
  @ApiProperty({ type: String, nullable: true }) user: string | null;
  @ApiProperty({ type: String, nullable: true }) hostname: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels: Record<string, string>;
  @ApiProperty({ type: ContainerResourcesDto }) resources: ContainerResourcesDto;
  @ApiProperty({ type: ContainerSecurityDto }) security: ContainerSecurityDto;
  @ApiProperty() autoRemove: boolean;
  @ApiProperty({ type: RestartPolicyDto }) restartPolicy: RestartPolicyDto;
  @ApiProperty({ description: 'Restarts made by the restart policy since the last start asked for' }) restartCount: number;
  @ApiPropertyOptional({ type: HealthcheckDto, nullable: true }) healthcheck: HealthcheckDto | null;
  @ApiPropertyOptional({ type: DnsDto, nullable: true }) dns: DnsDto | null;
  @ApiProperty({ type: [ContainerMountDto] }) mounts: ContainerMountDto[];
  @ApiProperty({ enum: NetworkMode, enumName: 'NetworkMode' }) networkMode: NetworkMode;
  @ApiProperty({ type: [ContainerNetworkDto], description: 'Each network joined, with the address and aliases' }) networks: ContainerNetworkDto[];
  @ApiProperty({ type: [PortDto] }) ports: PortDto[];
  @ApiPropertyOptional({ type: ContainerHealthDto, nullable: true, description: 'The health check’s verdict for the current start' })
  health: ContainerHealthDto | null;
  @ApiProperty({ type: 'integer', nullable: true }) exitCode: number | null;
  @ApiProperty({ type: 'integer', nullable: true }) pid: number | null;
  @ApiProperty() oomKilled: boolean;
  @ApiPropertyOptional({ type: ErrorDto, nullable: true }) error: ErrorDto | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt: string | null;
}

export function toContainerDto(c: Container): ContainerDto {
  return {
    id: c.id,
    name: c.name,
    image: c.spec.image,
    imageDigest: c.spec.imageDigest ?? null,
    pullPolicy: c.spec.pullPolicy ?? 'missing',
    status: c.status,
    desiredState: c.desiredState,
    generation: c.generation,
    hostId: c.hostId,
    cmd: c.spec.cmd ?? null,
    entrypoint: c.spec.entrypoint ?? null,
    env: c.spec.env,
    workingDir: c.spec.workingDir ?? null,
    user: c.spec.user ?? null,
    hostname: c.spec.hostname ?? null,
    labels: c.spec.labels,
    resources: c.spec.resources ?? {},
    security: c.spec.security ?? {},
    autoRemove: c.spec.autoRemove ?? false,
    restartPolicy: c.spec.restartPolicy ?? { name: 'no' },
    restartCount: c.restartCount,
    healthcheck: c.spec.healthcheck ?? null,
    dns: c.spec.dns ?? null,
    mounts: (c.spec.mounts ?? []).map(({ allowedRoot: _root, ...m }) => m),
    networkMode: c.spec.networkMode ?? 'bridge',
    networks: (c.spec.networks ?? []).map((n) => ({
      networkId: n.networkId,
      name: n.name,
      ipAddress: n.ipAddress,
      gateway: n.gateway,
      subnet: n.subnet,
      aliases: n.aliases,
    })),
    ports: c.spec.ports ?? [],
    health: c.health,
    exitCode: c.exitCode,
    pid: c.pid,
    oomKilled: c.oomKilled,
    error: c.error,
    createdAt: c.createdAt.toISOString(),
    startedAt: c.startedAt?.toISOString() ?? null,
    finishedAt: c.finishedAt?.toISOString() ?? null,
  };
}

/** The answer to every change: the container as recorded, and the operation carrying it out. */
@ApiSchema({ name: 'ContainerOperation' })
export class ContainerOperationDto {
  @ApiProperty({ type: ContainerDto }) container: ContainerDto;
  @ApiProperty({ type: OperationDto }) operation: OperationDto;
}

@ApiSchema({ name: 'ContainerPage' })
export class ContainerPageDto {
  @ApiProperty({ type: [ContainerDto] }) items: ContainerDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null on the last page' }) nextCursor: string | null;
}

@ApiSchema({ name: 'ContainerWaitResult' })
export class ContainerWaitDto {
  @ApiProperty({ enum: WaitCondition, enumName: 'ContainerWaitCondition' }) condition: WaitCondition;
  @ApiProperty({ description: 'Whether the condition was reached before the timeout' }) met: boolean;
  @ApiProperty({ enum: [...ContainerStatus, 'removed'], enumName: 'ContainerWaitStatus' }) status: ContainerStatus | 'removed';
  @ApiProperty({ type: 'integer', nullable: true }) exitCode: number | null;
  @ApiPropertyOptional({ type: ErrorDto, nullable: true }) error: ErrorDto | null;
}

@ApiSchema({ name: 'ExecResult' })
export class ExecResultDto {
  @ApiProperty({ example: 0 }) exitCode: number;
  @ApiProperty({ example: 'hi\n' }) stdout: string;
  @ApiProperty({ example: '' }) stderr: string;
  @ApiProperty({ description: 'Output past 1 MiB per stream was cut' }) truncated: boolean;
}

@ApiSchema({ name: 'CpuStats' })
export class CpuStatsDto {
  @ApiProperty() usageNanos: number;
  @ApiPropertyOptional() systemNanos?: number;
  @ApiProperty() onlineCpus: number;
  @ApiPropertyOptional({ description: 'Since the previous sample of a stream; absent on the first' }) percent?: number;
}
@ApiSchema({ name: 'MemoryStats' })
export class MemoryStatsDto {
  @ApiProperty({ description: 'In use, page cache excluded' }) usageBytes: number;
  @ApiPropertyOptional({ description: 'Absent when unlimited' }) limitBytes?: number;
  @ApiPropertyOptional() cacheBytes?: number;
}
@ApiSchema({ name: 'PidsStats' })
export class PidsStatsDto {
  @ApiProperty() current: number;
  @ApiPropertyOptional() limit?: number;
}
@ApiSchema({ name: 'BlockIoStats' })
export class BlockIoStatsDto {
  @ApiProperty() readBytes: number;
  @ApiProperty() writeBytes: number;
}
@ApiSchema({ name: 'NetworkStats' })
export class NetworkStatsDto {
  @ApiProperty() rxBytes: number;
  @ApiProperty() txBytes: number;
}
@ApiSchema({ name: 'ContainerStats' })
export class ContainerStatsDto {
  @ApiProperty({ format: 'date-time' }) read: string;
  @ApiProperty({ type: CpuStatsDto }) cpu: CpuStatsDto;
  @ApiProperty({ type: MemoryStatsDto }) memory: MemoryStatsDto;
  @ApiProperty({ type: PidsStatsDto }) pids: PidsStatsDto;
  @ApiProperty({ type: BlockIoStatsDto }) blockIo: BlockIoStatsDto;
  @ApiPropertyOptional({ type: NetworkStatsDto }) network?: NetworkStatsDto;
}

@ApiSchema({ name: 'ContainerProcess' })
export class ContainerProcessDto {
  @ApiProperty() pid: number;
  @ApiProperty() ppid: number;
  @ApiProperty() user: string;
  @ApiProperty({ example: 'S' }) state: string;
  @ApiProperty({ example: 'sleep' }) command: string;
  @ApiProperty({ type: [String], example: ['sleep', '1000'] }) args: string[];
}
@ApiSchema({ name: 'ContainerTop' })
export class ContainerTopDto {
  @ApiProperty({ type: [ContainerProcessDto] }) processes: ContainerProcessDto[];
}

@ApiSchema({ name: 'LogLine', description: 'One line of a container’s output' })
export class LogLineDto {
  @ApiProperty({ enum: ['stdout', 'stderr'], enumName: 'LogStream' }) stream: 'stdout' | 'stderr';
  @ApiProperty({ format: 'date-time', description: 'When the line was written (RFC 3339, nanoseconds)' }) time: string;
  @ApiProperty({ description: 'The line, without its newline', example: 'hello' }) line: string;
}
