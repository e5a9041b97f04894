import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FailedPreconditionError, Host, NotFoundError, Operation, UnavailableError, Volume } from '@berth/domain';
import { createControllerHarness, TEAM_AUTH } from '../testing/controller-harness';
import { strictMock } from '../testing/strict-mock';
import { testHostInfo } from '../testing/test-database';
import { VolumeRemovals } from './volume-removals.service';
import { VolumesController } from './volumes.controller';
import { VolumeView, VolumesService } from './volumes.service';

const host = Object.assign(new Host(), {
  id: 'host_01jd8x6w3q0000000000000000',
  teamId: TEAM_AUTH.teamId,
  name: 'h1',
  status: 'ready' as const,
  info: { ...testHostInfo('h1'), volumesDir: '/var/lib/berth/volumes' },
  lastHeartbeatAt: new Date('2026-12-01T10:00:00.000Z'),
  createdAt: new Date('2026-12-01T09:00:00.000Z'),
});

const volume = Object.assign(new Volume(), {
  id: 'vol_01jd8x6w3q0000000000000000',
  teamId: TEAM_AUTH.teamId,
  name: 'pgdata',
  hostId: host.id,
  driver: 'local' as const,
  labels: { app: 'pg' },
  createdAt: new Date('2026-12-01T10:00:00.000Z'),
});

const view: VolumeView = { volume, host, usedBy: [{ id: 'ctr_01jd8x6w3q0000000000000000', name: 'pg' }], sizeBytes: 4096 };

const body = {
  id: volume.id,
  name: 'pgdata',
  driver: 'local',
  labels: { app: 'pg' },
  hostId: host.id,
  mountpoint: `/var/lib/berth/volumes/${volume.id}/_data`,
  sizeBytes: 4096,
  usedBy: [{ id: 'ctr_01jd8x6w3q0000000000000000', name: 'pg' }],
  createdAt: '2026-12-01T10:00:00.000Z',
};

const operation = {
  id: 'op_01jd8x6w3q0000000000000000',
  teamId: TEAM_AUTH.teamId,
  kind: 'volume.remove',
  targetKind: 'volume',
  targetId: volume.id,
  hostId: host.id,
  status: 'queued',
  error: null,
  job: { name: 'volume.remove', queue: 'berth-host-h1', payload: {} },
  result: null,
  progress: null,
  createdAt: new Date('2026-12-01T11:00:00.000Z'),
  enqueuedAt: null,
  startedAt: null,
  finishedAt: null,
} as Operation;

const operationBody = {
  id: operation.id,
  kind: 'volume.remove',
  status: 'queued',
  targetKind: 'volume',
  targetId: volume.id,
  hostId: host.id,
  error: null,
  result: null,
  progress: null,
  createdAt: '2026-12-01T11:00:00.000Z',
  startedAt: null,
  finishedAt: null,
};

describe('VolumesController', () => {
  let app: INestApplication;
  const volumes = strictMock<VolumesService>({ create: jest.fn(), get: jest.fn(), list: jest.fn() });
  const removals = strictMock<VolumeRemovals>({ remove: jest.fn(), prune: jest.fn() });
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await createControllerHarness({
      controllers: [VolumesController],
      providers: [
        { provide: VolumesService, useValue: volumes },
        { provide: VolumeRemovals, useValue: removals },
      ],
    });
  });
  afterAll(() => app.close());
  beforeEach(() => jest.clearAllMocks());

  it('POST /v1/volumes answers 201 with the volume and its Location', async () => {
    volumes.create.mockResolvedValue(volume);
    volumes.get.mockResolvedValue(view);
    const dto = { name: 'pgdata', labels: { app: 'pg' }, host: 'h1' };
    const res = await http().post('/v1/volumes').set('Authorization', 'Bearer team').send(dto).expect(201);
    expect(volumes.create).toHaveBeenCalledWith(TEAM_AUTH, dto);
    expect(volumes.get).toHaveBeenCalledWith(TEAM_AUTH, volume.id);
    expect(res.headers.location).toBe(`/v1/volumes/${volume.id}`);
    expect(res.body).toEqual(body);
  });

  it('POST /v1/volumes refuses a bad name or driver with a 400 naming the field', async () => {
    const bad = await http().post('/v1/volumes').set('Authorization', 'Bearer team').send({ name: '../etc' }).expect(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'name' })]);
    const driver = await http().post('/v1/volumes').set('Authorization', 'Bearer team').send({ driver: 'nfs' }).expect(400);
    expect(driver.body.errors).toEqual([expect.objectContaining({ field: 'driver' })]);
    expect(volumes.create).not.toHaveBeenCalled();
  });

  it('POST /v1/volumes answers 503 problem+json with Retry-After when no host is ready', async () => {
    volumes.create.mockRejectedValue(new UnavailableError('no host is ready to run containers; start a worker', 'NoHostAvailable'));
    const res = await http().post('/v1/volumes').set('Authorization', 'Bearer team').send({}).expect(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body).toMatchObject({ status: 503, detail: 'no host is ready to run containers; start a worker' });
  });

  it('POST /v1/volumes/prune answers the names deleted and the operations removing their data', async () => {
    removals.prune.mockResolvedValue({ deleted: ['pgdata'], operations: [operation] });
    const res = await http().post('/v1/volumes/prune').set('Authorization', 'Bearer team').expect(200);
    expect(removals.prune).toHaveBeenCalledWith(TEAM_AUTH);
    expect(res.body).toEqual({ deleted: ['pgdata'], operations: [operationBody] });
  });

  it('GET /v1/volumes lists the team’s volumes', async () => {
    volumes.list.mockResolvedValue([{ ...view, host: undefined, sizeBytes: null }]);
    const res = await http().get('/v1/volumes').set('Authorization', 'Bearer team').expect(200);
    expect(volumes.list).toHaveBeenCalledWith(TEAM_AUTH);
    expect(res.body).toEqual({ items: [{ ...body, mountpoint: null, sizeBytes: null }] });
  });

  it('GET /v1/volumes/:id answers the volume, or 404 problem+json', async () => {
    volumes.get.mockResolvedValueOnce(view);
    await expect(http().get('/v1/volumes/pgdata').set('Authorization', 'Bearer team').expect(200)).resolves.toMatchObject({ body });
    expect(volumes.get).toHaveBeenCalledWith(TEAM_AUTH, 'pgdata');
    volumes.get.mockRejectedValueOnce(new NotFoundError('volume nope not found', 'VolumeNotFound'));
    const res = await http().get('/v1/volumes/nope').set('Authorization', 'Bearer team').expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, detail: 'volume nope not found' });
  });

  it('DELETE /v1/volumes/:id answers 200 with what went, or 409 while mounted', async () => {
    removals.remove.mockResolvedValueOnce({ deleted: ['pgdata'], operations: [operation] });
    const res = await http().delete('/v1/volumes/pgdata').set('Authorization', 'Bearer team').expect(200);
    expect(removals.remove).toHaveBeenCalledWith(TEAM_AUTH, 'pgdata');
    expect(res.body).toEqual({ deleted: ['pgdata'], operations: [operationBody] });
    removals.remove.mockRejectedValueOnce(new FailedPreconditionError('volume pgdata is in use by container(s) pg', 'VolumeInUse'));
    const refused = await http().delete('/v1/volumes/pgdata').set('Authorization', 'Bearer team').expect(409);
    expect(refused.body).toMatchObject({ status: 409, detail: 'volume pgdata is in use by container(s) pg' });
  });

  it('answers 401 without a token on every route, before the services are asked', async () => {
    await http().post('/v1/volumes').send({}).expect(401);
    await http().post('/v1/volumes/prune').expect(401);
    await http().get('/v1/volumes').expect(401);
    await http().get('/v1/volumes/pgdata').expect(401);
    await http().delete('/v1/volumes/pgdata').set('Authorization', 'Bearer nobody').expect(401);
    for (const method of [volumes.create, volumes.get, volumes.list, removals.prune, removals.remove]) expect(method).not.toHaveBeenCalled();
  });
});
