import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AlreadyExistsError, JobName, NotFoundError, jobFor } from '@berth/domain';
import { NetworksService } from '../networks/networks.service';
import { newOperation } from '../operations/operations.service';
import { createControllerHarness, TEAM_AUTH } from '../testing/controller-harness';
import { strictMock } from '../testing/strict-mock';
import { ContainerNetworksController } from './container-networks.controller';
import { ContainersLifecycleService } from './containers-lifecycle.service';
import { containerOfTeam } from './testing/containers.fixtures';

const container = containerOfTeam();
const operation = newOperation({
  teamId: TEAM_AUTH.teamId,
  kind: 'container.connect',
  targetKind: 'container',
  targetId: container.id,
  hostId: container.hostId,
  job: jobFor(JobName.ContainerNetworks, 'h1', { operationId: 'op_1', teamId: TEAM_AUTH.teamId, containerId: container.id, networks: [], ports: [] }),
});

describe('ContainerNetworksController', () => {
  let app: INestApplication;
  const networks = strictMock<NetworksService>({ idOf: jest.fn() });
  const lifecycle = strictMock<ContainersLifecycleService>({ connect: jest.fn(), disconnect: jest.fn() });
  const post = (path: string, body: object, token = 'Bearer team') => request(app.getHttpServer()).post(path).set('Authorization', token).send(body);

  beforeAll(async () => {
    app = await createControllerHarness({
      controllers: [ContainerNetworksController],
      providers: [
        { provide: NetworksService, useValue: networks },
        { provide: ContainersLifecycleService, useValue: lifecycle },
      ],
    });
  });
  afterAll(() => app.close());
  beforeEach(() => jest.resetAllMocks());

  describe('POST /v1/networks/:id/connect', () => {
    it('answers 202 with the container and operation, the network asked by the path', async () => {
      lifecycle.connect.mockResolvedValue({ container, operation });
      const res = await post('/v1/networks/backend/connect', { container: 'web', aliases: ['api'], ipAddress: '10.20.0.10' }).expect(202);
      expect(res.headers.location).toBe(`/v1/operations/${operation.id}`);
      expect(res.body).toMatchObject({ container: { id: container.id }, operation: { id: operation.id, kind: 'container.connect' } });
      expect(lifecycle.connect).toHaveBeenCalledWith(TEAM_AUTH, 'web', { network: 'backend', aliases: ['api'], ipAddress: '10.20.0.10' });
    });

    it('answers 400 naming the field without a container, 401 without a token', async () => {
      const res = await post('/v1/networks/backend/connect', { aliases: ['api'] }).expect(400);
      expect(JSON.stringify(res.body)).toContain('container');
      await post('/v1/networks/backend/connect', { container: 'web' }, 'Bearer nope').expect(401);
      expect(lifecycle.connect).not.toHaveBeenCalled();
    });

    it('answers 409 problem+json when the container is on the network already', async () => {
      lifecycle.connect.mockRejectedValue(new AlreadyExistsError('container web is already on network backend', 'AlreadyConnected'));
      const res = await post('/v1/networks/backend/connect', { container: 'web' }).expect(409);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 409, reason: 'AlreadyConnected' });
    });
  });

  describe('POST /v1/networks/:id/disconnect', () => {
    it('answers 202, resolving the network in the caller’s team', async () => {
      networks.idOf.mockResolvedValue('net_1');
      lifecycle.disconnect.mockResolvedValue({ container, operation });
      await post('/v1/networks/backend/disconnect', { container: 'web' }).expect(202);
      expect(networks.idOf).toHaveBeenCalledWith(TEAM_AUTH, 'backend');
      expect(lifecycle.disconnect).toHaveBeenCalledWith(TEAM_AUTH, 'web', 'net_1');
    });

    it('answers 404 problem+json for a network the team does not have, 400 without a container', async () => {
      networks.idOf.mockRejectedValue(new NotFoundError('network nope not found', 'NetworkNotFound'));
      await expect(post('/v1/networks/nope/disconnect', { container: 'web' }).expect(404)).resolves.toMatchObject({ body: { reason: 'NetworkNotFound' } });
      expect(lifecycle.disconnect).not.toHaveBeenCalled();
      const res = await post('/v1/networks/backend/disconnect', {}).expect(400);
      expect(JSON.stringify(res.body)).toContain('container');
    });
  });
});
