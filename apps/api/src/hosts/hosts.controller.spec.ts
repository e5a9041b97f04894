import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FailedPreconditionError, Host, NotFoundError } from '@berth/domain';
import { ADMIN_AUTH, createControllerHarness, TEAM_AUTH } from '../testing/controller-harness';
import { strictMock } from '../testing/strict-mock';
import { testHostInfo } from '../testing/test-database';
import { HostsController } from './hosts.controller';
import { HostsService } from './hosts.service';

const host = Object.assign(new Host(), {
  id: 'host_01jd8x6w3q0000000000000000',
  teamId: ADMIN_AUTH.teamId,
  name: 'node-1',
  status: 'ready',
  info: { ...testHostInfo('node-1'), startedAt: '2026-12-01T09:00:00.000Z' },
  lastHeartbeatAt: new Date('2026-12-01T10:00:05.000Z'),
  createdAt: new Date('2026-12-01T10:00:00.000Z'),
} satisfies Host);

const hostBody = {
  id: host.id,
  name: 'node-1',
  status: 'ready',
  cpus: 2,
  memoryBytes: 4 * 1024 ** 3,
  kernel: '6.1.0',
  os: 'linux',
  arch: 'amd64',
  runtime: 'runc',
  runcVersion: '1.1.5',
  conmonVersion: '2.1.6',
  cgroupVersion: 1,
  workerVersion: '0.1.0',
  overlayAddress: null,
  lastHeartbeatAt: '2026-12-01T10:00:05.000Z',
  createdAt: '2026-12-01T10:00:00.000Z',
};

describe('HostsController', () => {
  let app: INestApplication;
  const hosts = strictMock<HostsService>({ list: jest.fn(), get: jest.fn(), remove: jest.fn() });
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await createControllerHarness({ controllers: [HostsController], providers: [{ provide: HostsService, useValue: hosts }] });
  });
  afterAll(() => app.close());
  beforeEach(() => jest.clearAllMocks());

  it('GET /v1/hosts lists the hosts the team may use', async () => {
    hosts.list.mockResolvedValue([host]);
    const res = await http().get('/v1/hosts').set('Authorization', 'Bearer team').expect(200);
    expect(hosts.list).toHaveBeenCalledWith(TEAM_AUTH);
    expect(res.body).toEqual({ items: [hostBody] });
  });

  it('GET /v1/hosts/:id answers one host, with its overlay address when it has one', async () => {
    hosts.get.mockResolvedValue({ ...host, info: { ...host.info, overlayAddress: '192.0.2.10' } });
    const res = await http().get('/v1/hosts/node-1').set('Authorization', 'Bearer team').expect(200);
    expect(hosts.get).toHaveBeenCalledWith(TEAM_AUTH, 'node-1');
    expect(res.body).toEqual({ ...hostBody, overlayAddress: '192.0.2.10' });
  });

  it('GET /v1/hosts/:id answers 404 problem+json for a host the team cannot see', async () => {
    hosts.get.mockRejectedValue(new NotFoundError('host nope not found', 'HostNotFound'));
    const res = await http().get('/v1/hosts/nope').set('Authorization', 'Bearer team').expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, reason: 'HostNotFound', detail: 'host nope not found' });
  });

  it('answers 401 without a token', async () => {
    await http().get('/v1/hosts').expect(401);
    await http().delete('/v1/hosts/node-1').expect(401);
    expect(hosts.list).not.toHaveBeenCalled();
  });

  describe('DELETE /v1/hosts/:id', () => {
    it('answers 204 and passes force', async () => {
      hosts.remove.mockResolvedValue(undefined);
      await http().delete('/v1/hosts/node-1?force=true').set('Authorization', 'Bearer admin').expect(204);
      expect(hosts.remove).toHaveBeenLastCalledWith(ADMIN_AUTH, 'node-1', true);
      await http().delete('/v1/hosts/node-1').set('Authorization', 'Bearer admin').expect(204);
      expect(hosts.remove).toHaveBeenLastCalledWith(ADMIN_AUTH, 'node-1', false);
    });

    it('answers 403 AdminOnly to an ordinary team before looking the host up', async () => {
      const res = await http().delete('/v1/hosts/no-such-host').set('Authorization', 'Bearer team').expect(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 403, reason: 'AdminOnly', detail: 'only administrators can remove hosts' });
      expect(hosts.remove).not.toHaveBeenCalled();
    });

    it('answers 404 for a host the admin cannot see', async () => {
      hosts.remove.mockRejectedValue(new NotFoundError('host nope not found', 'HostNotFound'));
      const res = await http().delete('/v1/hosts/nope').set('Authorization', 'Bearer admin').expect(404);
      expect(res.body).toMatchObject({ status: 404, reason: 'HostNotFound' });
    });

    it('answers 409 for a host still in use or still ready', async () => {
      hosts.remove.mockRejectedValue(new FailedPreconditionError('host node-1 still has 1 container(s) and 0 volume(s)', 'HostInUse'));
      const res = await http().delete('/v1/hosts/node-1?force=true').set('Authorization', 'Bearer admin').expect(409);
      expect(res.body).toMatchObject({ status: 409, reason: 'HostInUse', detail: 'host node-1 still has 1 container(s) and 0 volume(s)' });
    });

    it('answers 400 naming the field for a force that is not a boolean', async () => {
      const res = await http().delete('/v1/hosts/node-1?force=maybe').set('Authorization', 'Bearer admin').expect(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'force' })]);
      expect(hosts.remove).not.toHaveBeenCalled();
    });
  });
});
