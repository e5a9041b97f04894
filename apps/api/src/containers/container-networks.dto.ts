import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsOptional, IsString } from 'class-validator';

@ApiSchema({ name: 'ConnectContainerRequest' })
export class ConnectContainerDto {
  @ApiProperty({ description: 'Container id or name' })
  @IsString()
  container: string;

  @ApiPropertyOptional({ type: [String], example: ['api'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(32)
  @IsString({ each: true })
  aliases?: string[];

  @ApiPropertyOptional({ example: '10.20.0.10', description: 'A fixed address; the next free one when absent' })
  @IsOptional()
  @IsString()
  ipAddress?: string;
}

@ApiSchema({ name: 'DisconnectContainerRequest' })
export class DisconnectContainerDto {
  @ApiProperty({ description: 'Container id or name' })
  @IsString()
  container: string;
}
