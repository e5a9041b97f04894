import { ApiProperty } from '@nestjs/swagger';

export class HealthDto {
  @ApiProperty({ enum: ['ok', 'unavailable'] }) status: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, example: { database: 'ok', redis: 'ok' } }) checks: Record<string, string>;
}
