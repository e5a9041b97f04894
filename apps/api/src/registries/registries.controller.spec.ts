import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { InvalidArgumentError, NotFoundError, RegistryCredential } from '@berth/domain';
import { createControllerHarness, TEAM_AUTH } from '../testing/controller-harness';
import { strictMock } from '../testing/strict-mock';
import { RegistriesController } from './registries.controller';
import { RegistriesService } from './registries.service';

const credential = Object.assign(new RegistryCredential(), {
  id: 'reg_01jd8x6w3q0000000000000000',
  teamId: TEAM_AUTH.teamId,
  server: 'registry.example.com:5000',
  username: 'deploy',
  secretSealed: 'v1.sealed',
  createdAt: new Date('2026-12-01T10:00:00.000Z'),
  updatedAt: new Date('2026-12-01T11:00:00.000Z'),
});
const body = {
  id: credential.id,
  server: 'registry.example.com:5000',
  username: 'deploy',
  createdAt: '2026-12-01T10:00:00.000Z',
  updatedAt: '2026-12-01T11:00:00.000Z',
};

describe('RegistriesController', () => {
  let app: INestApplication;
  const registries = strictMock<RegistriesService>({ save: jest.fn(), list: jest.fn(), get: jest.fn(), remove: jest.fn() });
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await createControllerHarness({ controllers: [RegistriesController], providers: [{ provide: RegistriesService, useValue: registries }] });
  });
  afterAll(() => app.close());
  beforeEach(() => jest.clearAllMocks());

  describe('POST /v1/registries', () => {
    const login = { server: 'registry.example.com:5000', username: 'deploy', password: 'hunter2' };

    it('answers 201 with the new login, without its secret, and where it is', async () => {
      registries.save.mockResolvedValue({ credential, created: true });
      const res = await http().post('/v1/registries').set('Authorization', 'Bearer team').send(login).expect(201);
      expect(registries.save).toHaveBeenCalledWith(TEAM_AUTH, login);
      expect(res.headers.location).toBe(`/v1/registries/${credential.id}`);
      expect(res.body).toEqual(body);
    });

    it('answers 200 when it replaced the team’s login for the server', async () => {
      registries.save.mockResolvedValue({ credential, created: false });
      const res = await http().post('/v1/registries').set('Authorization', 'Bearer team').send(login).expect(200);
      expect(res.body).toEqual(body);
    });

    it('answers 400 naming the field for a missing username or an unknown field, before the service is asked', async () => {
      const missing = await http().post('/v1/registries').set('Authorization', 'Bearer team').send({ server: 'docker.io', password: 'p' }).expect(400);
      expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(missing.body.errors).toEqual([expect.objectContaining({ field: 'username' })]);
      const unknown = await http()
        .post('/v1/registries')
        .set('Authorization', 'Bearer team')
        .send({ ...login, email: 'a@b.c' })
        .expect(400);
      expect(unknown.body.errors).toEqual([expect.objectContaining({ field: 'email' })]);
      expect(registries.save).not.toHaveBeenCalled();
    });

    it('answers the service’s 400 as problem+json', async () => {
      registries.save.mockRejectedValue(
        new InvalidArgumentError(
          'give exactly one of password and token',
          [{ field: 'token', message: 'give exactly one of password and token' }],
          'InvalidCredentials',
        ),
      );
      const res = await http()
        .post('/v1/registries')
        .set('Authorization', 'Bearer team')
        .send({ ...login, token: 't' })
        .expect(400);
      expect(res.body).toMatchObject({ status: 400, detail: 'give exactly one of password and token', errors: [{ field: 'token' }] });
    });

    it('answers 401 without a token', async () => {
      await http().post('/v1/registries').send(login).expect(401);
      expect(registries.save).not.toHaveBeenCalled();
    });
  });

  it('GET /v1/registries lists the team’s logins', async () => {
    registries.list.mockResolvedValue([credential]);
    const res = await http().get('/v1/registries').set('Authorization', 'Bearer team').expect(200);
    expect(registries.list).toHaveBeenCalledWith(TEAM_AUTH);
    expect(res.body).toEqual({ items: [body] });
  });

  it('GET /v1/registries/:id answers the login, or 404 problem+json', async () => {
    registries.get.mockResolvedValueOnce(credential);
    await expect(http().get('/v1/registries/docker.io').set('Authorization', 'Bearer team').expect(200)).resolves.toMatchObject({ body });
    expect(registries.get).toHaveBeenCalledWith(TEAM_AUTH, 'docker.io');
    registries.get.mockRejectedValueOnce(new NotFoundError('registry login quay.io not found', 'RegistryNotFound'));
    const res = await http().get('/v1/registries/quay.io').set('Authorization', 'Bearer team').expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, detail: 'registry login quay.io not found' });
  });

  it('DELETE /v1/registries/:id answers 204, or 404 for a login the team does not have', async () => {
    registries.remove.mockResolvedValueOnce(undefined);
    const res = await http().delete(`/v1/registries/${credential.id}`).set('Authorization', 'Bearer team').expect(204);
    expect(res.text).toBe('');
    expect(registries.remove).toHaveBeenCalledWith(TEAM_AUTH, credential.id);
    registries.remove.mockRejectedValueOnce(new NotFoundError('registry login reg_x not found', 'RegistryNotFound'));
    await http().delete('/v1/registries/reg_x').set('Authorization', 'Bearer team').expect(404);
  });

  it('answers 401 on every read without a token', async () => {
    await http().get('/v1/registries').expect(401);
    await http().get(`/v1/registries/${credential.id}`).expect(401);
    await http().delete(`/v1/registries/${credential.id}`).expect(401);
    expect(registries.list).not.toHaveBeenCalled();
    expect(registries.get).not.toHaveBeenCalled();
    expect(registries.remove).not.toHaveBeenCalled();
  });
});
