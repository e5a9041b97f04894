import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, Matches } from 'class-validator';
import { RESOURCE_NAME, RESOURCE_NAME_RULE } from '@berth/domain';
import { OperationDto } from '../operations/operation.dto';

@ApiSchema({ name: 'CreateVolumeRequest' })
export class CreateVolumeDto {
  @ApiPropertyOptional({ example: 'pgdata', description: 'Unique in the team; a random name when absent' })
  @IsOptional()
  @IsString()
  @Matches(RESOURCE_NAME, { message: `name ${RESOURCE_NAME_RULE}` })
  name?: string;

  @ApiPropertyOptional({ enum: ['local'], enumName: 'VolumeDriver', default: 'local' })
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

@ApiSchema({ name: 'VolumeUser' })
export class VolumeUserDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
}

@ApiSchema({ name: 'Volume' })
export class VolumeDto {
  @ApiProperty({ example: 'vol_01jd8x6w3q0000000000000000' }) id: string;
  @ApiProperty({ example: 'pgdata' }) name: string;
  @ApiProperty({ enum: ['local'], enumName: 'VolumeDriver' }) driver: 'local';
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels: Record<string, string>;
  @ApiProperty() hostId: string;
  @ApiProperty({ type: String, nullable: true, description: 'Where the data lives on the host' }) mountpoint: string | null;
  @ApiProperty({ type: 'integer', nullable: true, description: 'Bytes in use (answered by the host on inspect; null in lists or when the host is away)' })
  sizeBytes: number | null;
  @ApiProperty({ type: [VolumeUserDto], description: 'The team’s containers that mount it' }) usedBy: VolumeUserDto[];
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

@ApiSchema({ name: 'VolumeList' })
export class VolumeListDto {
  @ApiProperty({ type: [VolumeDto] }) items: VolumeDto[];
}

@ApiSchema({ name: 'VolumeRemoved' })
export class VolumeRemovedDto {
  @ApiProperty({ type: [String], description: 'Names of the volumes deleted' }) deleted: string[];
  @ApiProperty({ type: [OperationDto], description: 'Removal of their data on the hosts' }) operations: OperationDto[];
}
