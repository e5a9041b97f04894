import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { RegistryCredential } from '@berth/domain';

@ApiSchema({ name: 'SaveRegistryRequest' })
export class SaveRegistryDto {
  @ApiProperty({ example: 'registry.example.com:5000', description: 'The registry as image references name it (`host[:port]`); `docker.io` for Docker Hub' })
  @IsString()
  @MaxLength(255)
  server: string;

  @ApiProperty({ example: 'deploy' })
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  username: string;

  @ApiPropertyOptional({ description: 'The password; give this or `token`. Stored encrypted, never returned.', writeOnly: true })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(4096)
  password?: string;

  @ApiPropertyOptional({ description: 'An access token used as the password. Stored encrypted, never returned.', writeOnly: true })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(8192)
  token?: string;
}

@ApiSchema({ name: 'Registry' })
export class RegistryDto {
  @ApiProperty({ example: 'reg_01jd8x6w3q0000000000000000' }) id: string;
  @ApiProperty({ example: 'registry.example.com:5000' }) server: string;
  @ApiProperty() username: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

@ApiSchema({ name: 'RegistryList' })
export class RegistryListDto {
  @ApiProperty({ type: [RegistryDto] }) items: RegistryDto[];
}

export function toRegistryDto(r: RegistryCredential): RegistryDto {
  return { id: r.id, server: r.server, username: r.username, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString() };
}
