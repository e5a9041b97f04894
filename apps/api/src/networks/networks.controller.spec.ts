import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AlreadyExistsError, FailedPreconditionError, Network, NotFoundError } from '@berth/domain';
import { createControllerHarness, TEAM_AUTH } from '../testing/controller-harness';
import { strictMock } from '../testing/strict-mock';
import { NetworksController } from './networks.controller';
import { NetworkView, NetworksService } from './networks.service';

const network = Object.assign(new Network(), {
  id: 'network_01jd8x6w3q0000000000000000',
  teamId: TEAM_AUTH.teamId,
  name: 'front',
  driver: 'bridge' as const,
  subnet: '10.240.0.0/24',
  gateway: '10.240.0.1',
  ipRange: null,
  internal: false,
  isDefault: false,
  bridge: 'berth-000000000',
  labels: { tier: 'web' },
  vni: 4096,
  revision: 1,
  syncedRevision: 1,
  createdAt: new Date('2026-12-01T10:00:00.000Z'),
} satisfies Network);

const view: NetworkView = {
  network,
  endpoints: [
    {
      id: 'endpoint_01jd8x6w3q0000000000000000',
      teamId: TEAM_AUTH.teamId,
      networkId: network.id,
      containerId: 'ctr_01jd8x6w3q0000000000000000',
      containerName: 'web',
      hostId: 'host_01jd8x6w3q0000000000000000',
      ipAddress: '10.240.0.2',
      aliases: ['www'],
      createdAt: new Date('2026-12-01T10:00:01.000Z'),
    },
  ],
};

const body = {
  id: network.id,
  name: 'front',
  driver: 'bridge',
  subnet: '10.240.0.0/24',
  gateway: '10.240.0.1',
  ipRange: null,
  internal: false,
  isDefault: false,
  labels: { tier: 'web' },
  containers: [
    {
      containerId: 'ctr_01jd8x6w3q0000000000000000',
      containerName: 'web',
      hostId: 'host_01jd8x6w3q0000000000000000',
      ipAddress: '10.240.0.2',
      aliases: ['www'],
    },
  ],
  createdAt: '2026-12-01T10:00:00.000Z',
};

describe('NetworksController', () => {
  let app: INestApplication;
  const networks = strictMock<NetworksService>({ create: jest.fn(), get: jest.fn(), list: jest.fn(), remove: jest.fn(), prune: jest.fn() });
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await createControllerHarness({ controllers: [NetworksController], providers: [{ provide: NetworksService, useValue: networks }] });
  });
  afterAll(() => app.close());
  beforeEach(() => jest.clearAllMocks());

  it('POST /v1/networks answers 201 with the network as it stands', async () => {
    networks.create.mockResolvedValue(network);
    networks.get.mockResolvedValue(view);
    const dto = { name: 'front', subnet: '10.240.0.0/24', internal: false, labels: { tier: 'web' } };
    const res = await http().post('/v1/networks').set('Authorization', 'Bearer team').send(dto).expect(201);
    expect(networks.create).toHaveBeenCalledWith(TEAM_AUTH, dto);
    expect(networks.get).toHaveBeenCalledWith(TEAM_AUTH, network.id);
    expect(res.body).toEqual(body);
  });

  it('POST /v1/networks refuses a bad name or an unknown field with a 400 naming it', async () => {
    const bad = await http().post('/v1/networks').set('Authorization', 'Bearer team').send({ name: 'No Spaces!' }).expect(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'name' })]);
    const unknown = await http().post('/v1/networks').set('Authorization', 'Bearer team').send({ name: 'front', driver: 'overlay' }).expect(400);
    expect(unknown.body.errors).toEqual([expect.objectContaining({ field: 'driver' })]);
    expect(networks.create).not.toHaveBeenCalled();
  });

  it('POST /v1/networks answers 409 problem+json for an overlapping subnet', async () => {
    networks.create.mockRejectedValue(new AlreadyExistsError('subnet 10.240.0.0/24 overlaps a network that exists', 'SubnetInUse'));
    const res = await http().post('/v1/networks').set('Authorization', 'Bearer team').send({ name: 'front', subnet: '10.240.0.0/24' }).expect(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 409, detail: 'subnet 10.240.0.0/24 overlaps a network that exists' });
  });

  it('POST /v1/networks/prune answers the names deleted', async () => {
    networks.prune.mockResolvedValue(['idle']);
    await expect(http().post('/v1/networks/prune').set('Authorization', 'Bearer team').expect(200)).resolves.toMatchObject({ body: { deleted: ['idle'] } });
    expect(networks.prune).toHaveBeenCalledWith(TEAM_AUTH);
  });

  it('GET /v1/networks lists the team’s networks', async () => {
    networks.list.mockResolvedValue([view]);
    const res = await http().get('/v1/networks').set('Authorization', 'Bearer team').expect(200);
    expect(networks.list).toHaveBeenCalledWith(TEAM_AUTH);
    expect(res.body).toEqual({ items: [body] });
  });

  it('GET /v1/networks/:id answers the network, or 404 problem+json', async () => {
    networks.get.mockResolvedValueOnce(view);
    await expect(http().get('/v1/networks/front').set('Authorization', 'Bearer team').expect(200)).resolves.toMatchObject({ body });
    expect(networks.get).toHaveBeenCalledWith(TEAM_AUTH, 'front');
    networks.get.mockRejectedValueOnce(new NotFoundError('network nope not found (id)', 'NetworkNotFound'));
    const res = await http().get('/v1/networks/nope').set('Authorization', 'Bearer team').expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, detail: 'network nope not found (id)' });
  });

  it('DELETE /v1/networks/:id answers 204, or 409 while containers are on it', async () => {
    networks.remove.mockResolvedValueOnce(undefined);
    await http().delete('/v1/networks/front').set('Authorization', 'Bearer team').expect(204);
    expect(networks.remove).toHaveBeenCalledWith(TEAM_AUTH, 'front');
    networks.remove.mockRejectedValueOnce(new FailedPreconditionError('network front has 1 container(s) on it', 'NetworkInUse'));
    const res = await http().delete('/v1/networks/front').set('Authorization', 'Bearer team').expect(409);
    expect(res.body).toMatchObject({ status: 409, detail: 'network front has 1 container(s) on it' });
  });

  it('answers 401 without a token on every route, before the service is asked', async () => {
    await http().post('/v1/networks').send({ name: 'front' }).expect(401);
    await http().post('/v1/networks/prune').expect(401);
    await http().get('/v1/networks').expect(401);
    await http().get('/v1/networks/front').expect(401);
    await http().delete('/v1/networks/front').set('Authorization', 'Bearer nobody').expect(401);
    for (const method of [networks.create, networks.prune, networks.list, networks.get, networks.remove]) expect(method).not.toHaveBeenCalled();
  });
});
