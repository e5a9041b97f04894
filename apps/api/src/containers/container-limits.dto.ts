import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min, ValidateNested } from 'class-validator';

const CAPABILITY = /^(CAP_)?[A-Z_]+$|^ALL$/;
const ULIMIT_NAMES = [
  'as',
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
] as const;

@ApiSchema({ name: 'Ulimit' })
export class UlimitDto {
  @ApiProperty({ enum: ULIMIT_NAMES, enumName: 'UlimitName', example: 'nofile' })
  @IsIn(ULIMIT_NAMES)
  name: string;

  @ApiProperty({ example: 1024 }) @IsInt() @Min(-1) soft: number;
  @ApiProperty({ example: 4096 }) @IsInt() @Min(-1) hard: number;
}

/** Limits enforced through cgroups (v1 and v2) and rlimits. */
@ApiSchema({ name: 'ContainerResources' })
export class ContainerResourcesDto {
  @ApiPropertyOptional({ description: 'Memory limit in bytes (at least 6 MiB)', example: 268435456 })
  @IsOptional()
  @IsInt()
  @Min(6 * 1024 * 1024)
  memoryBytes?: number;

  @ApiPropertyOptional({ description: 'Memory plus swap in bytes; -1 for unlimited swap; twice the memory when absent', example: 536870912 })
  @IsOptional()
  @IsInt()
  @Min(-1)
  memorySwapBytes?: number;

  @ApiPropertyOptional({ description: 'CPUs as a fraction (0.5 = half a CPU)', example: 1.5 })
  @IsOptional()
  @IsNumber({ maxDecimalPlaces: 3 })
  @Min(0.01)
  @Max(1024)
  cpus?: number;

  @ApiPropertyOptional({ description: 'Relative CPU weight (2–262144; Docker’s default is 1024)', example: 512 })
  @IsOptional()
  @IsInt()
  @Min(2)
  @Max(262144)
  cpuShares?: number;

  @ApiPropertyOptional({ description: 'CPUs the container may run on', example: '0-1' })
  @IsOptional()
  @IsString()
  @Matches(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, { message: 'cpusetCpus must look like 0-2,4' })
  cpusetCpus?: string;

  @ApiPropertyOptional({ description: 'Most processes the container may have', example: 100 })
  @IsOptional()
  @IsInt()
  @Min(1)
  pidsLimit?: number;

  @ApiPropertyOptional({ type: [UlimitDto], description: 'Capped at the host’s hard limits' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @ValidateNested({ each: true })
  @Type(() => UlimitDto)
  ulimits?: UlimitDto[];

  @ApiPropertyOptional({ description: 'Size of /dev/shm in bytes (64 MiB when absent)', example: 67108864 })
  @IsOptional()
  @IsInt()
  @Min(4096)
  shmSizeBytes?: number;
}

@ApiSchema({ name: 'ContainerSecurity' })
export class ContainerSecurityDto {
  @ApiPropertyOptional({ description: 'Every capability, every device, no seccomp: only for teams whose policy allows it', default: false })
  @IsOptional()
  @IsBoolean()
  privileged?: boolean;

  @ApiPropertyOptional({
    type: [String],
    description: 'Capabilities to add beyond Docker’s defaults (the team’s policy must allow them)',
    example: ['NET_ADMIN'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @Matches(CAPABILITY, { each: true, message: 'each value in capAdd must be a capability name like NET_ADMIN' })
  capAdd?: string[];

  @ApiPropertyOptional({ type: [String], description: 'Capabilities to drop (`ALL` drops every default)', example: ['CHOWN'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @Matches(CAPABILITY, { each: true, message: 'each value in capDrop must be a capability name like CHOWN' })
  capDrop?: string[];

  @ApiPropertyOptional({ description: 'Mount the root filesystem read-only', default: false })
  @IsOptional()
  @IsBoolean()
  readOnlyRootfs?: boolean;

  @ApiPropertyOptional({ description: 'Forbid gaining privileges through setuid binaries', default: true })
  @IsOptional()
  @IsBoolean()
  noNewPrivileges?: boolean;

  @ApiPropertyOptional({
    enum: ['default', 'unconfined'],
    enumName: 'SeccompProfile',
    default: 'default',
    description: '`default` is Docker’s default profile',
  })
  @IsOptional()
  @IsIn(['default', 'unconfined'])
  seccompProfile?: 'default' | 'unconfined';
}
