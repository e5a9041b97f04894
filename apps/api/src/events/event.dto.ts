import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString } from 'class-validator';

@ApiSchema({ name: 'Event' })
export class EventDto {
  @ApiProperty({
    example: 'container.health_status',
    description: 'container.{created,running,paused,exited,failed,removing,deleted,restarted,health_status,updated}, operation.{running,succeeded,failed}',
  })
  type: string;
  @ApiProperty({ description: 'The container or operation the event is about' }) id: string;
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { name: 'web-1', status: 'unhealthy' } }) attributes?: Record<string, unknown>;
}

export class EventsQueryDto {
  @ApiPropertyOptional({ type: [String], description: 'Only these types, or type prefixes ending in `.` (e.g. `container.`)' })
  @IsOptional()
  @Transform(({ value }) => (Array.isArray(value) ? value : [value]))
  @IsString({ each: true })
  type?: string[];
}
