import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, Matches } from 'class-validator';
import { RESOURCE_NAME, RESOURCE_NAME_RULE } from '@berth/domain';
import { OperationDto } from '../operations/operation.dto';

export class CreateVolumeDto {
  @ApiPropertyOptional({ example: 'pgdata', description: 'Unique in the team; a random name when absent' })
  @IsOptional()
  @IsString()
  @Matches(RESOURCE_NAME, { message: `name ${RESOURCE_NAME_RULE}` })
  name?: string;

  @ApiPropertyOptional({ enum: ['local'], default: 'local' })
  @IsOptional()
  @IsIn(['local'])
  driver?: 'local';

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsObject()
  labels?: Record<string, string>;

  @ApiPropertyOptional({ description: 'Host id or name the volume lives on; any ready host when absent' })
  @IsOptional()
  @IsString()
  host?: string;
}

export class VolumeUserDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
}

export class VolumeDto {
  @ApiProperty({ example: 'vol_01jd8x6w3q0000000000000000' }) id: string;
  @ApiProperty({ example: 'pgdata' }) name: string;
  @ApiProperty({ enum: ['local'] }) driver: 'local';
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels: Record<string, string>;
  @ApiProperty() hostId: string;
  @ApiPropertyOptional({ nullable: true, description: 'Where the data lives on the host' }) mountpoint: string | null;
  @ApiPropertyOptional({ nullable: true, description: 'Bytes in use (answered by the host on inspect; null in lists or when the host is away)' }) sizeBytes:
    number | null;
  @ApiProperty({ type: [VolumeUserDto], description: 'The team’s containers that mount it' }) usedBy: VolumeUserDto[];
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class VolumeListDto {
  @ApiProperty({ type: [VolumeDto] }) items: VolumeDto[];
}

export class VolumeRemovedDto {
  @ApiProperty({ type: [String], description: 'Names of the volumes deleted' }) deleted: string[];
  @ApiProperty({ type: [OperationDto], description: 'Removal of their data on the hosts' }) operations: OperationDto[];
}
