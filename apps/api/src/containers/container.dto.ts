import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  Allow,
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsIP,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';
import {
  Container,
  ContainerStatus,
  DesiredState,
  HealthStatus,
  NetworkMode,
  PullPolicy,
  RESOURCE_NAME,
  RESOURCE_NAME_RULE,
  RestartPolicyName,
} from '@berth/domain';
import { ErrorDto } from '../common/problem';
import { ToBoolean } from '../common/query-boolean';
import { ContainerResourcesDto, ContainerSecurityDto } from './container-limits.dto';
import { OperationDto } from '../operations/operation.dto';

/** A map of string to string (labels), checked key by key. */
function IsStringMap(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isStringMap',
      validator: {
        validate: (v: unknown) =>
          typeof v === 'object' &&
          v !== null &&
          !Array.isArray(v) &&
          Object.entries(v).every(([k, x]) => k.length > 0 && k.length <= 255 && typeof x === 'string' && x.length <= 4096),
        defaultMessage: (args) => `${args?.property} must be an object of string keys to string values`,
      },
    },
    options,
  );
}

export class RestartPolicyDto {
  @ApiProperty({ enum: RestartPolicyName, enumName: 'RestartPolicyName', example: 'on-failure' })
  @IsIn(RestartPolicyName)
  name: RestartPolicyName;

  @ApiPropertyOptional({ description: 'With on-failure: restart at most this many times (0: no limit)', example: 3 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  maxRetries?: number;
}

export class DnsDto {
  @ApiPropertyOptional({ type: [String], example: ['10.0.0.53'], description: 'Name servers (IPv4), instead of the host’s' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(3)
  @IsIP('4', { each: true, message: 'each of dns.servers must be an IPv4 address' })
  servers?: string[];

  @ApiPropertyOptional({ type: [String], example: ['svc.example.internal'], description: 'Search domains, instead of the host’s' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(6)
  @IsString({ each: true })
  @Matches(/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,252}[a-zA-Z0-9])?\.?$/, { each: true, message: 'each of dns.search must be a domain name' })
  search?: string[];

  @ApiPropertyOptional({ type: [String], example: ['ndots:2', 'timeout:1'], description: 'resolv.conf options, instead of the host’s' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @IsString({ each: true })
  @Matches(/^[a-z][a-z0-9-]*(:[0-9]{1,5})?$/, { each: true, message: 'each of dns.options must be a resolv.conf option such as ndots:2' })
  options?: string[];
}

export class HealthcheckDto {
  @ApiProperty({ type: [String], description: 'Run in the container; exit 0 is healthy', example: ['wget', '-q', '-O-', 'http://127.0.0.1/health'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(256)
  @IsString({ each: true })
  cmd: string[];

  @ApiPropertyOptional({ default: 30000, minimum: 100 }) @IsOptional() @IsInt() @Min(100) @Max(24 * 3600 * 1000) intervalMs?: number;
  @ApiPropertyOptional({ default: 30000, minimum: 100 }) @IsOptional() @IsInt() @Min(100) @Max(3600 * 1000) timeoutMs?: number;
  @ApiPropertyOptional({ description: 'Failures in a row that make the container unhealthy', default: 3, minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  retries?: number;
  @ApiPropertyOptional({ description: 'Failures in this first stretch after a start do not count', default: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(24 * 3600 * 1000)
  startPeriodMs?: number;
}

export class ContainerHealthDto {
  @ApiProperty({ enum: HealthStatus, enumName: 'HealthStatus' }) status: HealthStatus;
  @ApiProperty() failingStreak: number;
  @ApiPropertyOptional({ description: 'The last check’s output (first 4 KiB)' }) lastOutput?: string;
  @ApiPropertyOptional() lastExitCode?: number;
  @ApiPropertyOptional({ format: 'date-time' }) lastCheckAt?: string;
}

export class MountDto {
  @ApiProperty({ enum: ['volume', 'bind', 'tmpfs'] })
  @IsIn(['volume', 'bind', 'tmpfs'])
  type: 'volume' | 'bind' | 'tmpfs';

  @ApiPropertyOptional({ description: 'Volume name (an anonymous volume when absent), or the host path of a bind; none for tmpfs', example: 'pgdata' })
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  source?: string;

  @ApiProperty({ description: 'Absolute path in the container', example: '/var/lib/postgresql/data' })
  @IsString()
  @MaxLength(4096)
  target: string;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  readOnly?: boolean;

  @ApiPropertyOptional({ description: 'Size limit of a tmpfs mount; unlimited when absent' })
  @IsOptional()
  @IsInt()
  @Min(0)
  tmpfsSizeBytes?: number;

  @ApiPropertyOptional({
    default: false,
    description:
      'Volume mounts only. A volume still empty when the container is created gets a copy of what the image holds at the target ' +
      '(files, directories, symlinks, owners and modes), as with Docker; true leaves it empty (Docker’s nocopy). ' +
      'A volume with data is never written to.',
  })
  @IsOptional()
  @IsBoolean()
  noCopy?: boolean;
}

export class ContainerMountDto extends MountDto {
  @ApiPropertyOptional({ description: 'The volume’s id, for volume mounts' }) volumeId?: string;
}

export class PortDto {
  @ApiProperty({ example: 8080, description: 'Port on the host' })
  @IsInt()
  @Min(1)
  @Max(65535)
  hostPort: number;

  @ApiProperty({ example: 80 })
  @IsInt()
  @Min(1)
  @Max(65535)
  containerPort: number;

  @ApiPropertyOptional({ enum: ['tcp', 'udp'], default: 'tcp' })
  @IsOptional()
  @IsIn(['tcp', 'udp'])
  protocol?: 'tcp' | 'udp';

  @ApiPropertyOptional({ example: '127.0.0.1', description: 'One host address; every address when absent' })
  @IsOptional()
  @IsString()
  @Matches(/^(\d{1,3}\.){3}\d{1,3}$/, { message: 'hostIp must be an IPv4 address' })
  hostIp?: string;
}

export class NetworkAttachmentDto {
  @ApiProperty({ example: 'backend', description: 'Network name or id' }) name: string;
  @ApiPropertyOptional({ type: [String], example: ['db'], description: 'More names the container answers to on this network' }) aliases?: string[];
  @ApiPropertyOptional({ example: '10.20.0.10', description: 'A fixed address; the next free one when absent' }) ipAddress?: string;
}

export class CreateContainerDto {
  @ApiPropertyOptional({ description: 'Unique within the team; generated when absent', example: 'web-1', pattern: RESOURCE_NAME.source })
  @IsOptional()
  @IsString()
  @Matches(RESOURCE_NAME, { message: `name ${RESOURCE_NAME_RULE}` })
  name?: string;

  @ApiProperty({ description: 'Image reference, as Docker writes it', example: 'busybox:latest' })
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  image: string;

  @ApiPropertyOptional({
    description:
      'Host id or name to run on; the scheduler chooses when absent (the host of the volumes it mounts, else one that has the image, else the least loaded)',
    example: 'worker-2',
  })
  @IsOptional()
  @IsString()
  @MaxLength(63)
  host?: string;

  @ApiPropertyOptional({
    enum: PullPolicy,
    enumName: 'PullPolicy',
    default: 'missing',
    description: 'Pull the image first: when the host lacks it, always, or never',
  })
  @IsOptional()
  @IsIn(PullPolicy)
  pullPolicy?: PullPolicy;

  @ApiPropertyOptional({ type: [String], description: 'Replaces the image’s CMD', example: ['sh', '-c', 'echo hello'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1024)
  @IsString({ each: true })
  cmd?: string[];

  @ApiPropertyOptional({ type: [String], description: 'Replaces the image’s ENTRYPOINT (and resets its CMD)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1024)
  @IsString({ each: true })
  entrypoint?: string[];

  @ApiPropertyOptional({ type: [String], description: '`KEY=value` pairs, over the image’s environment', example: ['MODE=prod'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(1024)
  @IsString({ each: true })
  @Matches(/^[^=\s]+=/, { each: true, message: 'each value in env must look like KEY=value' })
  env?: string[];

  @ApiPropertyOptional({ example: '/app' })
  @IsOptional()
  @IsString()
  @Matches(/^\//, { message: 'workingDir must be an absolute path' })
  workingDir?: string;

  @ApiPropertyOptional({ description: '`user`, `uid`, `user:group` or `uid:gid`', example: '1000:1000' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-zA-Z0-9_.-]+(:[a-zA-Z0-9_.-]+)?$/, { message: 'user must be user, uid, user:group or uid:gid' })
  user?: string;

  @ApiPropertyOptional({ example: 'web-1' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/, { message: 'hostname must be a valid host name label' })
  hostname?: string;

  @ApiPropertyOptional({
    type: DnsDto,
    description: 'The container’s resolver: each part given replaces the host’s (loopback and IPv6 name servers of the host are left out on Berth networks)',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => DnsDto)
  dns?: DnsDto;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' }, example: { app: 'web' } })
  @IsOptional()
  @IsObject()
  @IsStringMap()
  labels?: Record<string, string>;

  @ApiPropertyOptional({ type: ContainerResourcesDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ContainerResourcesDto)
  resources?: ContainerResourcesDto;

  @ApiPropertyOptional({
    type: ContainerSecurityDto,
    description: 'Docker’s isolation defaults apply; privileged and added capabilities need the team’s policy',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => ContainerSecurityDto)
  security?: ContainerSecurityDto;

  @ApiPropertyOptional({ type: RestartPolicyDto, description: 'Applied by the worker with exponential backoff (100 ms doubling, at most a minute)' })
  @IsOptional()
  @ValidateNested()
  @Type(() => RestartPolicyDto)
  restartPolicy?: RestartPolicyDto;

  @ApiPropertyOptional({ type: HealthcheckDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => HealthcheckDto)
  healthcheck?: HealthcheckDto;

  @ApiPropertyOptional({
    type: [MountDto],
    description:
      'Named volumes (made when missing; an empty one gets the image’s content at the target unless noCopy), host directories on the team’s allowlist, and tmpfs',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => MountDto)
  mounts?: MountDto[];

  @ApiPropertyOptional({
    enum: NetworkMode,
    enumName: 'NetworkMode',
    default: 'bridge',
    description: '`bridge`: the networks below (the team’s default network when none); `none`: loopback only; `host`: the host’s network (by team policy)',
  })
  @IsOptional()
  @IsIn(NetworkMode)
  networkMode?: NetworkMode;

  @ApiPropertyOptional({
    type: 'array',
    items: { oneOf: [{ type: 'string' }, { $ref: '#/components/schemas/NetworkAttachmentDto' }] },
    description: 'Networks to join: a name, or `{name, aliases, ipAddress}`',
    example: ['frontend', { name: 'backend', aliases: ['api'] }],
  })
  @Allow()
  networks?: unknown;

  @ApiPropertyOptional({ type: [PortDto], description: 'Ports published on the host (bridge mode)' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @ValidateNested({ each: true })
  @Type(() => PortDto)
  ports?: PortDto[];

  @ApiPropertyOptional({ description: 'Remove the container once its process exits', default: false })
  @IsOptional()
  @IsBoolean()
  autoRemove?: boolean;

  @ApiPropertyOptional({ description: 'Start the container once created', default: true })
  @IsOptional()
  @IsBoolean()
  start?: boolean;
}

export class ContainerNetworkDto {
  @ApiProperty() networkId: string;
  @ApiProperty() name: string;
  @ApiProperty({ example: '10.20.0.2' }) ipAddress: string;
  @ApiProperty({ example: '10.20.0.1' }) gateway: string;
  @ApiProperty({ example: '10.20.0.0/24' }) subnet: string;
  @ApiProperty({ type: [String] }) aliases: string[];
}

export class ContainerDto {
  @ApiProperty({ example: 'ctr_01jd8x6w3q0000000000000000' }) id: string;
  @ApiProperty({ example: 'web-1' }) name: string;
  @ApiProperty({ example: 'docker.io/library/busybox:latest' }) image: string;
  @ApiPropertyOptional({ nullable: true, example: 'sha256:…' }) imageDigest: string | null;
  @ApiProperty({ enum: PullPolicy, enumName: 'PullPolicy' }) pullPolicy: PullPolicy;
  @ApiProperty({ enum: ContainerStatus, enumName: 'ContainerStatus' }) status: ContainerStatus;
  @ApiProperty({ enum: DesiredState, enumName: 'ContainerDesiredState' }) desiredState: DesiredState;
  @ApiProperty() generation: number;
  @ApiProperty() hostId: string;
  @ApiPropertyOptional({ type: [String], nullable: true }) cmd: string[] | null;
  @ApiPropertyOptional({ type: [String], nullable: true }) entrypoint: string[] | null;
  @ApiProperty({ type: [String] }) env: string[];
  @ApiPropertyOptional({ nullable: true }) workingDir: string | null;
  @ApiPropertyOptional({ nullable: true }) user: string | null;
  @ApiPropertyOptional({ nullable: true }) hostname: string | null;
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
  @ApiPropertyOptional({ nullable: true }) exitCode: number | null;
  @ApiPropertyOptional({ nullable: true }) pid: number | null;
  @ApiProperty() oomKilled: boolean;
  @ApiPropertyOptional({ type: ErrorDto, nullable: true }) error: ErrorDto | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiPropertyOptional({ format: 'date-time', nullable: true }) startedAt: string | null;
  @ApiPropertyOptional({ format: 'date-time', nullable: true }) finishedAt: string | null;
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
export class ContainerOperationDto {
  @ApiProperty({ type: ContainerDto }) container: ContainerDto;
  @ApiProperty({ type: OperationDto }) operation: OperationDto;
}

export class ContainerPageDto {
  @ApiProperty({ type: [ContainerDto] }) items: ContainerDto[];
  @ApiPropertyOptional({ nullable: true, description: 'Pass as `cursor` for the next page; null on the last page' }) nextCursor: string | null;
}

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

export const WaitCondition = ['not-running', 'exited', 'running', 'healthy', 'removed'] as const;
export type WaitCondition = (typeof WaitCondition)[number];

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

export class ContainerWaitDto {
  @ApiProperty({ enum: WaitCondition, enumName: 'ContainerWaitCondition' }) condition: WaitCondition;
  @ApiProperty({ description: 'Whether the condition was reached before the timeout' }) met: boolean;
  @ApiProperty({ enum: [...ContainerStatus, 'removed'], enumName: 'ContainerWaitStatus' }) status: ContainerStatus | 'removed';
  @ApiPropertyOptional({ nullable: true }) exitCode: number | null;
  @ApiPropertyOptional({ type: ErrorDto, nullable: true }) error: ErrorDto | null;
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

export class ExecResultDto {
  @ApiProperty({ example: 0 }) exitCode: number;
  @ApiProperty({ example: 'hi\n' }) stdout: string;
  @ApiProperty({ example: '' }) stderr: string;
  @ApiProperty({ description: 'Output past 1 MiB per stream was cut' }) truncated: boolean;
}

export class CpuStatsDto {
  @ApiProperty() usageNanos: number;
  @ApiPropertyOptional() systemNanos?: number;
  @ApiProperty() onlineCpus: number;
  @ApiPropertyOptional({ description: 'Since the previous sample of a stream; absent on the first' }) percent?: number;
}
export class MemoryStatsDto {
  @ApiProperty({ description: 'In use, page cache excluded' }) usageBytes: number;
  @ApiPropertyOptional({ description: 'Absent when unlimited' }) limitBytes?: number;
  @ApiPropertyOptional() cacheBytes?: number;
}
export class PidsStatsDto {
  @ApiProperty() current: number;
  @ApiPropertyOptional() limit?: number;
}
export class BlockIoStatsDto {
  @ApiProperty() readBytes: number;
  @ApiProperty() writeBytes: number;
}
export class NetworkStatsDto {
  @ApiProperty() rxBytes: number;
  @ApiProperty() txBytes: number;
}
export class ContainerStatsDto {
  @ApiProperty({ format: 'date-time' }) read: string;
  @ApiProperty({ type: CpuStatsDto }) cpu: CpuStatsDto;
  @ApiProperty({ type: MemoryStatsDto }) memory: MemoryStatsDto;
  @ApiProperty({ type: PidsStatsDto }) pids: PidsStatsDto;
  @ApiProperty({ type: BlockIoStatsDto }) blockIo: BlockIoStatsDto;
  @ApiPropertyOptional({ type: NetworkStatsDto }) network?: NetworkStatsDto;
}

export class StatsQueryDto {
  @ApiPropertyOptional({ description: 'Keep the response open and send a sample (ndjson) every second until the container stops', default: false })
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  stream?: boolean;
}

export class ContainerProcessDto {
  @ApiProperty() pid: number;
  @ApiProperty() ppid: number;
  @ApiProperty() user: string;
  @ApiProperty({ example: 'S' }) state: string;
  @ApiProperty({ example: 'sleep' }) command: string;
  @ApiProperty({ type: [String], example: ['sleep', '1000'] }) args: string[];
}
export class ContainerTopDto {
  @ApiProperty({ type: [ContainerProcessDto] }) processes: ContainerProcessDto[];
}

export class RenameContainerDto {
  @ApiProperty({ example: 'web-2', pattern: RESOURCE_NAME.source })
  @IsString()
  @Matches(RESOURCE_NAME, { message: `name ${RESOURCE_NAME_RULE}` })
  name: string;
}

export class UpdateContainerDto {
  @ApiProperty({ type: ContainerResourcesDto, description: 'Limits to change; ulimits and shmSizeBytes cannot change on a created container' })
  @ValidateNested()
  @Type(() => ContainerResourcesDto)
  resources: ContainerResourcesDto;
}
