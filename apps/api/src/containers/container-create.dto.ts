import { ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiSchema, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  Allow,
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateBy,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';
import { NetworkMode, PullPolicy, RESOURCE_NAME, RESOURCE_NAME_RULE } from '@berth/domain';
import { ContainerResourcesDto, ContainerSecurityDto } from './container-limits.dto';
import {
  BindMountSchema,
  DnsDto,
  HealthcheckDto,
  MOUNT_SCHEMA,
  MountDto,
  NetworkAttachmentDto,
  PortDto,
  RestartPolicyDto,
  TmpfsMountSchema,
  VolumeMountSchema,
} from './container-parts.dto';

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

@ApiExtraModels(VolumeMountSchema, BindMountSchema, TmpfsMountSchema)
@ApiSchema({ name: 'CreateContainerRequest' })
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
    type: 'array',
    items: MOUNT_SCHEMA,
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
    items: { oneOf: [{ type: 'string' }, { $ref: getSchemaPath(NetworkAttachmentDto) }] },
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
