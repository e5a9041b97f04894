import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { AlreadyExistsError, NotFoundError, Team } from '@berth/domain';
import { createControllerHarness } from '../testing/controller-harness';
import { strictMock } from '../testing/strict-mock';
import { TeamsController } from './teams.controller';
import { TeamsService } from './teams.service';

const team = Object.assign(new Team(), {
  id: 'team_01jd8x6w3q0000000000000000',
  name: 'payments',
  admin: false,
  createdAt: new Date('2026-12-01T10:00:00.000Z'),
  policy: null,
} satisfies Team);
const defaultPolicy = { allowPrivileged: false, allowedCapabilities: [], allowedBindPaths: [], allowHostNetwork: false };

describe('TeamsController', () => {
  let app: INestApplication;
  const teams = strictMock<TeamsService>({ create: jest.fn(), setPolicy: jest.fn() });
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await createControllerHarness({ controllers: [TeamsController], providers: [{ provide: TeamsService, useValue: teams }] });
  });
  afterAll(() => app.close());
  beforeEach(() => jest.clearAllMocks());

  describe('POST /v1/teams', () => {
    it('answers 201 with the team (default policy filled in) and its first token', async () => {
      teams.create.mockResolvedValue({ team, token: 'berth_first' });
      const res = await http().post('/v1/teams').set('Authorization', 'Bearer admin').send({ name: 'payments' }).expect(201);
      expect(teams.create).toHaveBeenCalledWith('payments');
      expect(res.body).toEqual({
        team: { id: team.id, name: 'payments', admin: false, policy: defaultPolicy, createdAt: '2026-12-01T10:00:00.000Z' },
        token: 'berth_first',
      });
    });

    it('answers 403 AdminOnly to an ordinary team, before the service is asked', async () => {
      const res = await http().post('/v1/teams').set('Authorization', 'Bearer team').send({ name: 'payments' }).expect(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 403, reason: 'AdminOnly', detail: 'only administrators can create teams' });
      expect(teams.create).not.toHaveBeenCalled();
    });

    it('answers 409 problem+json for a name in use', async () => {
      teams.create.mockRejectedValue(new AlreadyExistsError('team "payments" already exists', 'TeamNameInUse'));
      const res = await http().post('/v1/teams').set('Authorization', 'Bearer admin').send({ name: 'payments' }).expect(409);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 409, reason: 'TeamNameInUse', detail: 'team "payments" already exists' });
    });

    it('answers 400 naming the field for a name that is not lower-case letters, digits and dashes', async () => {
      const res = await http().post('/v1/teams').set('Authorization', 'Bearer admin').send({ name: 'Not OK' }).expect(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'name' })]);
      expect(teams.create).not.toHaveBeenCalled();
    });

    it('answers 401 without a token', async () => {
      await http().post('/v1/teams').send({ name: 'payments' }).expect(401);
      expect(teams.create).not.toHaveBeenCalled();
    });
  });

  describe('PUT /v1/teams/:id/policy', () => {
    const policy = { allowPrivileged: true, allowedCapabilities: ['NET_ADMIN'], allowedBindPaths: ['/srv/data'], allowHostNetwork: true };

    it('answers 200 with the team and the policy set', async () => {
      teams.setPolicy.mockResolvedValue({ ...team, policy });
      const res = await http().put(`/v1/teams/${team.id}/policy`).set('Authorization', 'Bearer admin').send(policy).expect(200);
      expect(teams.setPolicy).toHaveBeenCalledWith({ teamId: team.id }, policy);
      expect(res.body).toEqual({ id: team.id, name: 'payments', admin: false, policy, createdAt: '2026-12-01T10:00:00.000Z' });
    });

    it('answers 403 AdminOnly to an ordinary team', async () => {
      const res = await http().put(`/v1/teams/${team.id}/policy`).set('Authorization', 'Bearer team').send(policy).expect(403);
      expect(res.body).toMatchObject({ status: 403, reason: 'AdminOnly', detail: 'only administrators can set a team’s policy' });
      expect(teams.setPolicy).not.toHaveBeenCalled();
    });

    it('answers 404 problem+json for a team that does not exist', async () => {
      teams.setPolicy.mockRejectedValue(new NotFoundError('team team_x not found', 'TeamNotFound'));
      const res = await http().put('/v1/teams/team_x/policy').set('Authorization', 'Bearer admin').send(policy).expect(404);
      expect(res.body).toMatchObject({ status: 404, reason: 'TeamNotFound', detail: 'team team_x not found' });
    });

    it('answers 400 naming the field for a capability that is not one', async () => {
      const res = await http()
        .put(`/v1/teams/${team.id}/policy`)
        .set('Authorization', 'Bearer admin')
        .send({ allowPrivileged: false, allowedCapabilities: ['net admin'] });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'allowedCapabilities' })]);
      expect(teams.setPolicy).not.toHaveBeenCalled();
    });

    it('answers 401 without a token', async () => {
      await http().put(`/v1/teams/${team.id}/policy`).send(policy).expect(401);
    });
  });
});
