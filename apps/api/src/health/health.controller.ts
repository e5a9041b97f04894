import { Controller, Get, Res } from '@nestjs/common';
import { ApiProperty, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Public } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { RedisConnections } from '../common/redis';

export class HealthDto {
  @ApiProperty({ enum: ['ok', 'unavailable'] }) status: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, example: { database: 'ok', redis: 'ok' } }) checks: Record<string, string>;
}

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly redis: RedisConnections,
  ) {}

  @Public()
  @Get('healthz')
  @Endpoint({ operationId: 'getHealth', summary: 'Liveness: the process answers', type: HealthDto })
  health(): HealthDto {
    return { status: 'ok', checks: {} };
  }

  @Public()
  @Get('readyz')
  @Endpoint({ operationId: 'getReadiness', summary: 'Readiness: the database and Redis answer', type: HealthDto, errors: [503] })
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthDto> {
    const checks: Record<string, string> = {};
    await this.db.query('SELECT 1').then(
      () => (checks.database = 'ok'),
      (e: Error) => (checks.database = e.message),
    );
    await withTimeout(this.redis.client.ping(), 2000).then(
      () => (checks.redis = 'ok'),
      (e: Error) => (checks.redis = e.message),
    );
    const ok = Object.values(checks).every((v) => v === 'ok');
    if (!ok) res.status(503);
    return { status: ok ? 'ok' : 'unavailable', checks };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms))]);
}
