import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createControllerHarness } from '../testing/controller-harness';
import { strictMock } from '../testing/strict-mock';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

describe('HealthController', () => {
  let app: INestApplication;
  const health = strictMock<HealthService>({ readiness: jest.fn() });

  beforeAll(async () => {
    app = await createControllerHarness({ controllers: [HealthController], providers: [{ provide: HealthService, useValue: health }] });
  });
  afterAll(() => app.close());
  beforeEach(() => jest.clearAllMocks());

  it('GET /healthz answers 200 without a token, asking nothing', async () => {
    const res = await request(app.getHttpServer()).get('/healthz').expect(200);
    expect(res.body).toEqual({ status: 'ok', checks: {} });
    expect(health.readiness).not.toHaveBeenCalled();
  });

  it('GET /readyz answers 200 without a token when everything answers', async () => {
    health.readiness.mockResolvedValue({ ok: true, checks: { database: 'ok', redis: 'ok' } });
    const res = await request(app.getHttpServer()).get('/readyz').expect(200);
    expect(res.body).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
  });

  it('GET /readyz answers 503 with what did not answer', async () => {
    health.readiness.mockResolvedValue({ ok: false, checks: { database: 'ok', redis: 'no answer in 2000 ms' } });
    const res = await request(app.getHttpServer()).get('/readyz').expect(503);
    expect(res.body).toEqual({ status: 'unavailable', checks: { database: 'ok', redis: 'no answer in 2000 ms' } });
  });
});
