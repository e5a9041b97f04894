import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsObject, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { RESOURCE_NAME, RESOURCE_NAME_RULE } from '@berth/domain';

@ApiSchema({ name: 'CreateNetworkRequest' })
export class CreateNetworkDto {
  @ApiProperty({ example: 'backend' })
  @IsString()
  @Matches(RESOURCE_NAME, { message: `name ${RESOURCE_NAME_RULE}` })
  name: string;

  @ApiPropertyOptional({ enum: ['bridge'], enumName: 'NetworkDriver', default: 'bridge' })
  @IsOptional()
  @IsIn(['bridge'])
  driver?: 'bridge';

  @ApiPropertyOptional({ example: '10.20.0.0/24', description: 'IPv4 CIDR; a free /24 of the pool when absent' })
  @IsOptional()
  @IsString()
  @MaxLength(18)
  subnet?: string;

  @ApiPropertyOptional({ example: '10.20.0.1', description: 'The first host address when absent' })
  @IsOptional()
  @IsString()
  @MaxLength(15)
  gateway?: string;

  @ApiPropertyOptional({ example: '10.20.0.128/25', description: 'Where container addresses come from, inside the subnet' })
  @IsOptional()
  @IsString()
  @MaxLength(18)
  ipRange?: string;

  @ApiPropertyOptional({ description: 'No route out of the network', default: false })
  @IsOptional()
  @IsBoolean()
  internal?: boolean;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOptional()
  @IsObject()
  labels?: Record<string, string>;
}

@ApiSchema({ name: 'NetworkEndpoint' })
export class NetworkEndpointDto {
  @ApiProperty() containerId: string;
  @ApiProperty() containerName: string;
  @ApiProperty() hostId: string;
  @ApiProperty({ example: '10.20.0.2' }) ipAddress: string;
  @ApiProperty({ type: [String] }) aliases: string[];
}

@ApiSchema({ name: 'Network' })
export class NetworkDto {
  @ApiProperty({ example: 'net_01jd8x6w3q0000000000000000' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: ['bridge'], enumName: 'NetworkDriver' }) driver: 'bridge';
  @ApiProperty({ example: '10.20.0.0/24' }) subnet: string;
  @ApiProperty({ example: '10.20.0.1' }) gateway: string;
  @ApiProperty({ type: String, nullable: true }) ipRange: string | null;
  @ApiProperty() internal: boolean;
  @ApiProperty({ description: 'The team’s default network' }) isDefault: boolean;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels: Record<string, string>;
  @ApiProperty({ type: [NetworkEndpointDto], description: 'The containers on it and their addresses' }) containers: NetworkEndpointDto[];
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

@ApiSchema({ name: 'NetworkList' })
export class NetworkListDto {
  @ApiProperty({ type: [NetworkDto] }) items: NetworkDto[];
}

@ApiSchema({ name: 'PrunedNetworks' })
export class PrunedNetworksDto {
  @ApiProperty({ type: [String] }) deleted: string[];
}
