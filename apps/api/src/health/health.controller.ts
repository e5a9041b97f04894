import { Controller, Get, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { HealthDto } from './health.dto';
import { HealthService } from './health.service';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(private readonly checks: HealthService) {}

  @Public()
  @Get('healthz')
  @Endpoint({ operationId: 'getHealth', summary: 'Liveness: the process answers', type: HealthDto, public: true })
  health(): HealthDto {
    return { status: 'ok', checks: {} };
  }

  @Public()
  @Get('readyz')
  @Endpoint({ operationId: 'getReadiness', summary: 'Readiness: the database and Redis answer', type: HealthDto, errors: [503], public: true })
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthDto> {
    const { ok, checks } = await this.checks.readiness();
    if (!ok) res.status(503);
    return { status: ok ? 'ok' : 'unavailable', checks };
  }
}
