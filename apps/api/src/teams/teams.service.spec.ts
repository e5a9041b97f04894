import { DataSource } from 'typeorm';
import { ApiToken, DEFAULT_TEAM_POLICY, Team } from '@berth/domain';
import { Transactions } from '../database/transactions';
import { strictMock } from '../testing/strict-mock';
import { createTestDatabase, seedTeam } from '../testing/test-database';
import { AuthService } from './auth.service';
import { TeamsRepository } from './teams.repository';
import { TeamsService } from './teams.service';

describe('TeamsService (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let service: TeamsService;
  const auth = strictMock<AuthService>({ issueToken: jest.fn() });

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    service = new TeamsService(tx, new TeamsRepository(tx), auth);
    auth.issueToken
      .mockReset()
      .mockImplementation(async (scope) => ({ token: Object.assign(new ApiToken(), { teamId: scope.teamId }), secret: 'berth_secret' }));
  });
  afterEach(() => db.destroy());

  describe('create', () => {
    it('writes an ordinary team and answers its first token', async () => {
      const { team, token } = await service.create('payments');
      expect(token).toBe('berth_secret');
      expect(auth.issueToken).toHaveBeenCalledWith({ teamId: team.id }, 'initial');
      await expect(db.getRepository(Team).findOneByOrFail({ id: team.id })).resolves.toMatchObject({ name: 'payments', admin: false, policy: null });
    });

    it('refuses a name in use with TeamNameInUse, issuing no token', async () => {
      await seedTeam(db, 'payments');
      await expect(service.create('payments')).rejects.toMatchObject({ reason: 'TeamNameInUse', message: 'team "payments" already exists' });
      expect(auth.issueToken).not.toHaveBeenCalled();
    });
  });

  describe('setPolicy', () => {
    it('stores the policy with bind paths normalized and host network off unless asked', async () => {
      const team = await seedTeam(db, 'payments');
      const updated = await service.setPolicy(
        { teamId: team.id },
        { allowPrivileged: true, allowedCapabilities: ['NET_ADMIN'], allowedBindPaths: ['/srv//data/'] },
      );
      const policy = { allowPrivileged: true, allowedCapabilities: ['NET_ADMIN'], allowedBindPaths: ['/srv/data'], allowHostNetwork: false };
      expect(updated).toMatchObject({ id: team.id, policy });
      await expect(service.policyOf({ teamId: team.id })).resolves.toEqual(policy);
    });

    it('answers TeamNotFound for a team that does not exist', async () => {
      await expect(service.setPolicy({ teamId: 'team_nope' }, DEFAULT_TEAM_POLICY)).rejects.toMatchObject({
        reason: 'TeamNotFound',
        message: 'team team_nope not found',
      });
    });
  });

  describe('policyOf', () => {
    it('answers the default policy for a team that has none', async () => {
      const team = await seedTeam(db, 'payments');
      await expect(service.policyOf({ teamId: team.id })).resolves.toEqual(DEFAULT_TEAM_POLICY);
    });

    it('refuses a scope without a team', async () => {
      await expect(service.policyOf({ teamId: undefined as unknown as string })).rejects.toThrow('no team');
    });
  });
});
