import { DataSource } from 'typeorm';
import { ApiToken, Team } from '@berth/domain';
import { ApiConfig } from '../config';
import { Transactions } from '../database/transactions';
import { createTestDatabase, seedTeam } from '../testing/test-database';
import { ADMIN_TEAM_NAME, AuthService } from './auth.service';
import { TeamsRepository } from './teams.repository';
import { hashToken } from './tokens';
import { TokensRepository } from './tokens.repository';

describe('AuthService (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let team: Team;

  const service = (config: Partial<ApiConfig> = {}) => new AuthService(new TokensRepository(tx), new TeamsRepository(tx), config as ApiConfig);
  const tokens = () => db.getRepository(ApiToken);

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    team = await seedTeam(db, 'payments');
  });
  afterEach(() => db.destroy());

  describe('authenticate', () => {
    it('answers the token’s team for a valid bearer token', async () => {
      const { token, secret } = await service().issueToken({ teamId: team.id }, 'ci');
      await expect(service().authenticate(`Bearer ${secret}`)).resolves.toEqual({ teamId: team.id, tokenId: token.id, admin: false });
    });

    it('says the caller is an admin when the token is the admin team’s', async () => {
      const admin = await service().adminTeam();
      const { secret } = await service().issueToken({ teamId: admin.id }, 'ops');
      await expect(service().authenticate(`bearer ${secret}`)).resolves.toMatchObject({ teamId: admin.id, admin: true });
    });

    it('refuses a revoked token', async () => {
      const { token, secret } = await service().issueToken({ teamId: team.id }, 'old');
      await tokens().update({ id: token.id }, { revokedAt: new Date() });
      await expect(service().authenticate(`Bearer ${secret}`)).rejects.toMatchObject({ reason: 'InvalidToken' });
    });

    it('refuses a token nobody issued', async () => {
      await expect(service().authenticate('Bearer berth_not-a-real-token')).rejects.toMatchObject({ reason: 'InvalidToken' });
    });

    it('refuses a missing or malformed header', async () => {
      await expect(service().authenticate(undefined)).rejects.toMatchObject({ reason: 'MissingToken' });
      await expect(service().authenticate('Basic abc')).rejects.toMatchObject({ reason: 'MissingToken' });
    });
  });

  describe('adminTeam', () => {
    it('creates the admin team once and answers the same one afterwards', async () => {
      const first = await service().adminTeam();
      expect(first).toMatchObject({ name: ADMIN_TEAM_NAME, admin: true });
      await expect(service().adminTeam()).resolves.toMatchObject({ id: first.id });
      await expect(db.getRepository(Team).count({ where: { name: ADMIN_TEAM_NAME } })).resolves.toBe(1);
    });
  });

  describe('bootstrap', () => {
    it('without BERTH_ADMIN_TOKEN generates a token on the first start only', async () => {
      const first = await service().bootstrap();
      expect(first.generatedToken).toMatch(/^berth_/);
      await expect(service().authenticate(`Bearer ${first.generatedToken}`)).resolves.toMatchObject({ teamId: first.team.id, admin: true });
      const second = await service().bootstrap();
      expect(second.generatedToken).toBeUndefined();
      await expect(tokens().count({ where: { teamId: first.team.id } })).resolves.toBe(1);
    });

    it('with BERTH_ADMIN_TOKEN registers its hash once and generates nothing', async () => {
      const adminToken = 'a-long-enough-admin-token';
      const first = await service({ adminToken }).bootstrap();
      expect(first.generatedToken).toBeUndefined();
      await service({ adminToken }).bootstrap();
      await expect(tokens().findBy({ teamId: first.team.id })).resolves.toEqual([
        expect.objectContaining({ tokenHash: hashToken(adminToken), name: 'bootstrap (BERTH_ADMIN_TOKEN)' }),
      ]);
      await expect(service().authenticate(`Bearer ${adminToken}`)).resolves.toMatchObject({ admin: true });
    });

    it('refuses a BERTH_ADMIN_TOKEN shorter than 16 characters', async () => {
      await expect(service({ adminToken: 'short' }).bootstrap()).rejects.toMatchObject({ message: 'BERTH_ADMIN_TOKEN must be at least 16 characters' });
      await expect(tokens().count()).resolves.toBe(0);
    });
  });

  describe('issueToken', () => {
    it('stores only the hash and a display prefix of the secret it answers', async () => {
      const { token, secret } = await service().issueToken({ teamId: team.id }, 'deploy');
      const stored = await tokens().findOneByOrFail({ id: token.id });
      expect(stored).toMatchObject({ teamId: team.id, name: 'deploy', tokenHash: hashToken(secret), prefix: secret.slice(0, 12), revokedAt: null });
      expect(Object.values(stored)).not.toContain(secret);
    });

    it('refuses a scope without a team', async () => {
      await expect(service().issueToken({ teamId: '' }, 'x')).rejects.toThrow('no team');
    });
  });
});
