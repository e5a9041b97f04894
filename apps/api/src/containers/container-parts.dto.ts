import { ApiProperty, ApiPropertyOptional, ApiSchema, getSchemaPath } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsBoolean, IsIn, IsInt, IsIP, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { HealthStatus, RestartPolicyName } from '@berth/domain';

const MOUNT_TYPES = ['volume', 'bind', 'tmpfs'] as const;

/** The parts a container is made of, in requests and answers alike: restart policy, resolver, health check, mounts, ports, networks. */

@ApiSchema({ name: 'RestartPolicy' })
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

@ApiSchema({ name: 'DnsConfig' })
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

@ApiSchema({ name: 'Healthcheck' })
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

@ApiSchema({ name: 'ContainerHealth' })
export class ContainerHealthDto {
  @ApiProperty({ enum: HealthStatus, enumName: 'HealthStatus' }) status: HealthStatus;
  @ApiProperty() failingStreak: number;
  @ApiPropertyOptional({ description: 'The last check’s output (first 4 KiB)' }) lastOutput?: string;
  @ApiPropertyOptional() lastExitCode?: number;
  @ApiPropertyOptional({ format: 'date-time' }) lastCheckAt?: string;
}

/**
 * A mount as the request sends it, validated as one class; the contract describes
 * it as the union of the three kinds below, told apart by `type`.
 */
export class MountDto {
  @ApiProperty({ enum: MOUNT_TYPES, enumName: 'MountType' })
  @IsIn(MOUNT_TYPES)
  type: (typeof MOUNT_TYPES)[number];

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

const TARGET = { type: 'string', description: 'Absolute path in the container', example: '/data' } as const;
const READ_ONLY = { type: 'boolean', default: false } as const;

@ApiSchema({ name: 'VolumeMount', description: 'A named volume (made when missing), or an anonymous one when `source` is absent' })
export class VolumeMountSchema {
  @ApiProperty({ enum: ['volume'] }) type: 'volume';
  @ApiPropertyOptional({ description: 'The volume’s name', example: 'pgdata' }) source?: string;
  @ApiProperty(TARGET) target: string;
  @ApiPropertyOptional(READ_ONLY) readOnly?: boolean;
  @ApiPropertyOptional({
    default: false,
    description: 'A volume still empty gets a copy of what the image holds at the target unless true (Docker’s nocopy); a volume with data is never written to',
  })
  noCopy?: boolean;
}

@ApiSchema({ name: 'BindMount', description: 'A host directory, which must lie under one of the team’s allowed bind roots' })
export class BindMountSchema {
  @ApiProperty({ enum: ['bind'] }) type: 'bind';
  @ApiProperty({ description: 'Absolute path on the host', example: '/srv/data/app' }) source: string;
  @ApiProperty(TARGET) target: string;
  @ApiPropertyOptional(READ_ONLY) readOnly?: boolean;
}

@ApiSchema({ name: 'TmpfsMount', description: 'A memory-backed file system, empty at each start' })
export class TmpfsMountSchema {
  @ApiProperty({ enum: ['tmpfs'] }) type: 'tmpfs';
  @ApiProperty(TARGET) target: string;
  @ApiPropertyOptional(READ_ONLY) readOnly?: boolean;
  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'Size limit; unlimited when absent' }) tmpfsSizeBytes?: number;
}

/** The contract's schema of one requested mount: a union told apart by `type`. */
export const MOUNT_SCHEMA = {
  oneOf: [{ $ref: getSchemaPath(VolumeMountSchema) }, { $ref: getSchemaPath(BindMountSchema) }, { $ref: getSchemaPath(TmpfsMountSchema) }],
  discriminator: {
    propertyName: 'type',
    mapping: { volume: getSchemaPath(VolumeMountSchema), bind: getSchemaPath(BindMountSchema), tmpfs: getSchemaPath(TmpfsMountSchema) },
  },
};

@ApiSchema({ name: 'ContainerMount' })
export class ContainerMountDto extends MountDto {
  @ApiPropertyOptional({ description: 'The volume’s id, for volume mounts' }) volumeId?: string;
}

@ApiSchema({ name: 'Port' })
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

  @ApiPropertyOptional({ enum: ['tcp', 'udp'], enumName: 'PortProtocol', default: 'tcp' })
  @IsOptional()
  @IsIn(['tcp', 'udp'])
  protocol?: 'tcp' | 'udp';

  @ApiPropertyOptional({ example: '127.0.0.1', description: 'One host address; every address when absent' })
  @IsOptional()
  @IsString()
  @Matches(/^(\d{1,3}\.){3}\d{1,3}$/, { message: 'hostIp must be an IPv4 address' })
  hostIp?: string;
}

@ApiSchema({ name: 'NetworkAttachment' })
export class NetworkAttachmentDto {
  @ApiProperty({ example: 'backend', description: 'Network name or id' }) name: string;
  @ApiPropertyOptional({ type: [String], example: ['db'], description: 'More names the container answers to on this network' }) aliases?: string[];
  @ApiPropertyOptional({ example: '10.20.0.10', description: 'A fixed address; the next free one when absent' }) ipAddress?: string;
}

@ApiSchema({ name: 'ContainerNetwork' })
export class ContainerNetworkDto {
  @ApiProperty() networkId: string;
  @ApiProperty() name: string;
  @ApiProperty({ example: '10.20.0.2' }) ipAddress: string;
  @ApiProperty({ example: '10.20.0.1' }) gateway: string;
  @ApiProperty({ example: '10.20.0.0/24' }) subnet: string;
  @ApiProperty({ type: [String] }) aliases: string[];
}
