import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';
import { Image, familiarImageReference, parseImageReference } from '@berth/domain';
import { OperationDto } from '../operations/operation.dto';

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

export class ImageDto {
  @ApiProperty({ example: 'img_01jd8x6w3q0000000000000000' }) id: string;
  @ApiProperty({ example: 'sha256:…', description: 'Manifest digest' }) digest: string;
  @ApiProperty({ example: 'sha256:…' }) configDigest: string;
  @ApiProperty({ type: [String], example: ['docker.io/library/busybox:latest'] }) references: string[];
  @ApiProperty({ type: [String], example: ['busybox:latest'], description: 'References in the short form Docker shows' }) tags: string[];
  @ApiProperty() sizeBytes: number;
  @ApiProperty({ type: ImageConfigDto }) config: ImageConfigDto;
  @ApiProperty({ example: 'linux' }) os: string;
  @ApiProperty({ example: 'amd64' }) architecture: string;
  @ApiProperty() hostId: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class ImageListDto {
  @ApiProperty({ type: [ImageDto] }) items: ImageDto[];
}

export class LoadImageQueryDto {
  @ApiPropertyOptional({ description: 'Host id or name to load the image on; any ready host when absent' })
  @IsOptional()
  @IsString()
  host?: string;
}

export class ImageLoadAcceptedDto {
  @ApiProperty({ type: OperationDto, description: 'When it succeeds, `result.images` lists what was loaded' }) operation: OperationDto;
  @ApiProperty() sizeBytes: number;
  @ApiProperty({ description: 'SHA-256 of the uploaded tar' }) sha256: string;
}

export function toImageDto(i: Image): ImageDto {
  return {
    id: i.id,
    digest: i.digest,
    configDigest: i.configDigest,
    references: i.references,
    tags: i.references.map((r) => familiarImageReference(parseImageReference(r))),
    sizeBytes: i.sizeBytes,
    config: i.config,
    os: i.os,
    architecture: i.architecture,
    hostId: i.hostId,
    createdAt: i.createdAt.toISOString(),
  };
}
