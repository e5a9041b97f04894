import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, MaxLength } from 'class-validator';
import { Host, familiarImageReference, parseImageReference } from '@berth/domain';
import { ToBoolean } from '../common/query-boolean';
import { OperationDto } from '../operations/operation.dto';
import type { TeamImage } from './images.service';

@ApiSchema({ name: 'ImageConfig' })
export class ImageConfigDto {
  @ApiPropertyOptional({ type: [String] }) entrypoint?: string[];
  @ApiPropertyOptional({ type: [String] }) cmd?: string[];
  @ApiPropertyOptional({ type: [String] }) env?: string[];
  @ApiPropertyOptional() workingDir?: string;
  @ApiPropertyOptional() user?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } }) labels?: Record<string, string>;
  @ApiPropertyOptional({ type: [String], example: ['80/tcp'] }) exposedPorts?: string[];
  @ApiPropertyOptional() stopSignal?: string;
}

@ApiSchema({ name: 'ImageHost' })
export class ImageHostDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
}

@ApiSchema({ name: 'Image' })
export class ImageDto {
  @ApiProperty({ example: 'img_01jd8x6w3q0000000000000000' }) id: string;
  @ApiProperty({ example: 'sha256:…', description: 'Manifest digest' }) digest: string;
  @ApiProperty({ example: 'sha256:…', description: 'Config digest (Docker’s image id)' }) configDigest: string;
  @ApiProperty({ type: [String], example: ['docker.io/library/busybox:latest'] }) references: string[];
  @ApiProperty({ type: [String], example: ['busybox:latest'], description: 'References in the short form Docker shows' }) tags: string[];
  @ApiProperty() sizeBytes: number;
  @ApiProperty({ type: ImageConfigDto }) config: ImageConfigDto;
  @ApiProperty({ example: 'linux' }) os: string;
  @ApiProperty({ example: 'amd64' }) architecture: string;
  @ApiProperty({ type: [ImageHostDto], description: 'The hosts that hold the image' }) hosts: ImageHostDto[];
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

@ApiSchema({ name: 'ImageHistoryEntry' })
export class ImageHistoryEntryDto {
  @ApiPropertyOptional({ format: 'date-time' }) created?: string;
  @ApiPropertyOptional({ example: '/bin/sh -c #(nop) CMD ["sh"]' }) createdBy?: string;
  @ApiPropertyOptional() comment?: string;
  @ApiProperty({ description: 'True for steps that made no layer' }) emptyLayer: boolean;
  @ApiProperty({ description: 'Compressed size of the layer the step made' }) sizeBytes: number;
}

@ApiSchema({ name: 'ImageHistory' })
export class ImageHistoryDto {
  @ApiProperty({ type: [ImageHistoryEntryDto], description: 'Newest first' }) items: ImageHistoryEntryDto[];
}

@ApiSchema({ name: 'PullImageRequest' })
export class PullImageDto {
  @ApiProperty({ example: 'registry.example.com:5000/team/app:1.2', description: 'What to pull, as Docker spells it' })
  @IsString()
  @MaxLength(512)
  reference: string;

  @ApiPropertyOptional({ description: 'Host id or name to pull onto; any ready host when absent' })
  @IsOptional()
  @IsString()
  host?: string;

  @ApiPropertyOptional({ example: 'linux/arm64', description: 'The platform to take from a multi-platform image; the host’s own when absent' })
  @IsOptional()
  @IsString()
  platform?: string;
}

@ApiSchema({ name: 'TagImageRequest' })
export class TagImageDto {
  @ApiProperty({ example: 'registry.example.com:5000/team/app:1.3' })
  @IsString()
  @MaxLength(512)
  reference: string;
}

@ApiSchema({ name: 'PushImageRequest' })
export class PushImageDto {
  @ApiPropertyOptional({ example: 'registry.example.com:5000/team/app:1.2', description: 'Where to push; the reference in the path when absent' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  reference?: string;
}

export class ForceQueryDto {
  @ApiPropertyOptional({ description: 'Delete even while containers of the team use the image (they keep running)', default: false })
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  force?: boolean;
}

@ApiSchema({ name: 'PruneImagesRequest' })
export class PruneImagesDto {
  @ApiPropertyOptional({ description: 'Every image no container of the team uses, not only untagged ones', default: false })
  @IsOptional()
  @IsBoolean()
  all?: boolean;
}

@ApiSchema({ name: 'RemovedImages' })
export class RemovedImagesDto {
  @ApiProperty({ type: [String], description: 'References taken away' }) untagged: string[];
  @ApiProperty({ type: [String], description: 'Digests of the images the team no longer holds' }) deleted: string[];
  @ApiProperty({ type: [OperationDto], description: 'Clean-up on the hosts; each result says what it freed' }) operations: OperationDto[];
}

@ApiSchema({ name: 'ImageOperation' })
export class ImageOperationDto {
  @ApiProperty({ type: OperationDto }) operation: OperationDto;
}

@ApiSchema({ name: 'ImageList' })
export class ImageListDto {
  @ApiProperty({ type: [ImageDto] }) items: ImageDto[];
}

export class LoadImageQueryDto {
  @ApiPropertyOptional({ description: 'Host id or name to load the image on; any ready host when absent' })
  @IsOptional()
  @IsString()
  host?: string;
}

@ApiSchema({ name: 'ImageLoadAccepted' })
export class ImageLoadAcceptedDto {
  @ApiProperty({ type: OperationDto, description: 'When it succeeds, `result.images` lists what was loaded' }) operation: OperationDto;
  @ApiProperty() sizeBytes: number;
  @ApiProperty({ description: 'SHA-256 of the uploaded tar' }) sha256: string;
}

export function toImageDto(i: TeamImage, hosts: Map<string, Host>): ImageDto {
  const p = i.primary;
  return {
    id: p.id,
    digest: i.digest,
    configDigest: p.configDigest,
    references: i.references,
    tags: i.references.map((r) => familiarImageReference(parseImageReference(r))),
    sizeBytes: p.sizeBytes,
    config: p.config,
    os: p.os,
    architecture: p.architecture,
    hosts: i.hostIds.map((id) => ({ id, name: hosts.get(id)?.name ?? id })),
    createdAt: p.createdAt.toISOString(),
  };
}
