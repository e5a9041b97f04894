import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { NotFoundError, Operation } from '@berth/domain';
import { createControllerHarness, TEAM_AUTH } from '../testing/controller-harness';
import { strictMock } from '../testing/strict-mock';
import { OperationsController } from './operations.controller';
import { OperationsService } from './operations.service';

const operation = Object.assign(new Operation(), {
  id: 'op_01jd8x6w3q0000000000000000',
  teamId: TEAM_AUTH.teamId,
  kind: 'container.create',
  targetKind: 'container',
  targetId: 'ctr_01jd8x6w3q0000000000000000',
  hostId: 'host_01jd8x6w3q0000000000000000',
  status: 'succeeded',
  error: null,
  job: { name: 'container.converge', queue: 'berth-host-h1', payload: {} },
  result: null,
  progress: null,
  createdAt: new Date('2026-12-01T10:00:00.000Z'),
  enqueuedAt: new Date('2026-12-01T10:00:00.100Z'),
  startedAt: new Date('2026-12-01T10:00:00.200Z'),
  finishedAt: new Date('2026-12-01T10:00:01.000Z'),
} satisfies Operation);

describe('OperationsController', () => {
  let app: INestApplication;
  const operations = strictMock<OperationsService>({ get: jest.fn(), wait: jest.fn() });

  beforeAll(async () => {
    app = await createControllerHarness({ controllers: [OperationsController], providers: [{ provide: OperationsService, useValue: operations }] });
  });
  afterAll(() => app.close());
  beforeEach(() => jest.clearAllMocks());

  it('GET /v1/operations/:id answers the operation of the caller’s team, without its job', async () => {
    operations.get.mockResolvedValue(operation);
    const res = await request(app.getHttpServer()).get(`/v1/operations/${operation.id}`).set('Authorization', 'Bearer team').expect(200);
    expect(operations.get).toHaveBeenCalledWith(TEAM_AUTH, operation.id);
    expect(res.body).toEqual({
      id: operation.id,
      kind: 'container.create',
      status: 'succeeded',
      targetKind: 'container',
      targetId: operation.targetId,
      hostId: operation.hostId,
      error: null,
      result: null,
      progress: null,
      createdAt: '2026-12-01T10:00:00.000Z',
      startedAt: '2026-12-01T10:00:00.200Z',
      finishedAt: '2026-12-01T10:00:01.000Z',
    });
  });

  it('answers 404 problem+json for an operation the team does not have', async () => {
    operations.get.mockRejectedValue(new NotFoundError(`operation op_x not found`, 'OperationNotFound'));
    const res = await request(app.getHttpServer()).get('/v1/operations/op_x').set('Authorization', 'Bearer team').expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, title: expect.any(String), detail: 'operation op_x not found' });
  });

  it('answers 401 without a token, before the service is asked', async () => {
    await request(app.getHttpServer()).get(`/v1/operations/${operation.id}`).expect(401);
    expect(operations.get).not.toHaveBeenCalled();
  });

  it('wait passes the timeout, 30 s by default', async () => {
    operations.wait.mockResolvedValue(operation);
    await request(app.getHttpServer()).get(`/v1/operations/${operation.id}/wait?timeout=5`).set('Authorization', 'Bearer team').expect(200);
    expect(operations.wait).toHaveBeenLastCalledWith(TEAM_AUTH, operation.id, 5, expect.any(AbortSignal));
    await request(app.getHttpServer()).get(`/v1/operations/${operation.id}/wait`).set('Authorization', 'Bearer team').expect(200);
    expect(operations.wait).toHaveBeenLastCalledWith(TEAM_AUTH, operation.id, 30, expect.any(AbortSignal));
  });

  it('refuses a timeout out of range with a 400 naming the field', async () => {
    const res = await request(app.getHttpServer()).get(`/v1/operations/${operation.id}/wait?timeout=301`).set('Authorization', 'Bearer team').expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'timeout' })]);
    expect(operations.wait).not.toHaveBeenCalled();
  });
});
