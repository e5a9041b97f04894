import { ApiProperty, ApiSchema } from '@nestjs/swagger';

@ApiSchema({ name: 'Health' })
export class HealthDto {
  @ApiProperty({ enum: ['ok', 'unavailable'], enumName: 'ProbeStatus' }) status: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, example: { database: 'ok', redis: 'ok' } }) checks: Record<string, string>;
}
