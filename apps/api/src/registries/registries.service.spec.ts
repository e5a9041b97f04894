import { DataSource } from 'typeorm';
import { RegistryCredential, Team, newSealingKeyPair, openLogin } from '@berth/domain';
import { TeamScope } from '../common/auth-context';
import { ApiConfig } from '../config';
import { Transactions } from '../database/transactions';
import { createTestDatabase, seedHost, seedTeam } from '../testing/test-database';
import { RegistriesRepository } from './registries.repository';
import { RegistriesService } from './registries.service';
import { SecretBox } from './secret-box';

const SECRET = 's'.repeat(40);

describe('RegistriesService (in-memory SQLite)', () => {
  let db: DataSource;
  let teamA: Team;
  let teamB: Team;
  let a: TeamScope;
  let b: TeamScope;
  let service: RegistriesService;

  beforeEach(async () => {
    let tx: Transactions;
    ({ db, tx } = await createTestDatabase());
    [teamA, teamB] = [await seedTeam(db, 'a'), await seedTeam(db, 'b')];
    [a, b] = [{ teamId: teamA.id }, { teamId: teamB.id }];
    service = new RegistriesService(new RegistriesRepository(tx), tx, { secret: SECRET } as ApiConfig);
  });
  afterEach(() => db.destroy());

  const auth = (team: Team) => ({ teamId: team.id, tokenId: 'tok_1', admin: false });
  const stored = (id: string) => db.getRepository(RegistryCredential).findOneByOrFail({ id });
  const opened = (c: RegistryCredential) => new SecretBox(SECRET, 'registry credentials').open(c.secretSealed, `registry-credential:${c.teamId}:${c.id}`);

  describe('save', () => {
    it('adds a login under the normalized server, with the password sealed for its row', async () => {
      const { credential, created } = await service.save(auth(teamA), {
        server: 'https://Registry.Example.com:5000/',
        username: 'deploy',
        password: 'hunter2',
      });
      expect(created).toBe(true);
      expect(credential).toMatchObject({ id: expect.stringMatching(/^reg_/), teamId: teamA.id, server: 'registry.example.com:5000', username: 'deploy' });
      const row = await stored(credential.id);
      expect(row.secretSealed).not.toContain('hunter2');
      expect(opened(row)).toBe('hunter2');
    });

    it('replaces the team’s login for the same server, keeping its id and creation time', async () => {
      const first = await service.save(auth(teamA), { server: 'docker.io', username: 'old', password: 'p1' });
      const second = await service.save(auth(teamA), { server: 'index.docker.io', username: 'new', token: 't2' });
      expect(second.created).toBe(false);
      expect(second.credential).toMatchObject({ id: first.credential.id, username: 'new', createdAt: first.credential.createdAt });
      expect(opened(await stored(first.credential.id))).toBe('t2');
      await expect(service.list(a)).resolves.toHaveLength(1);
    });

    it('keeps teams’ logins to one server apart', async () => {
      const mine = await service.save(auth(teamA), { server: 'docker.io', username: 'a', password: 'pa' });
      const theirs = await service.save(auth(teamB), { server: 'docker.io', username: 'b', password: 'pb' });
      expect(theirs.created).toBe(true);
      expect(theirs.credential.id).not.toBe(mine.credential.id);
    });

    it('refuses both or neither of password and token, naming the field', async () => {
      await expect(service.save(auth(teamA), { server: 'docker.io', username: 'u' })).rejects.toMatchObject({
        reason: 'InvalidCredentials',
        violations: [{ field: 'password' }],
      });
      await expect(service.save(auth(teamA), { server: 'docker.io', username: 'u', password: 'p', token: 't' })).rejects.toMatchObject({
        violations: [{ field: 'token' }],
      });
      await expect(service.list(a)).resolves.toEqual([]);
    });

    it('refuses a server that is not one, naming it', async () => {
      await expect(service.save(auth(teamA), { server: ' ', username: 'u', password: 'p' })).rejects.toMatchObject({
        reason: 'InvalidRegistry',
        violations: [{ field: 'server' }],
      });
    });
  });

  describe('list, get and remove', () => {
    let hub: RegistryCredential;
    beforeEach(async () => {
      await service.save(auth(teamA), { server: 'registry.example.com', username: 'u', password: 'p' });
      hub = (await service.save(auth(teamA), { server: 'docker.io', username: 'u', password: 'p' })).credential;
      await service.save(auth(teamB), { server: 'quay.io', username: 'u', password: 'p' });
    });

    it('lists the team’s logins by server', async () => {
      await expect(service.list(a)).resolves.toEqual([
        expect.objectContaining({ server: 'docker.io' }),
        expect.objectContaining({ server: 'registry.example.com' }),
      ]);
    });

    it('gets a login by id or by server in any spelling Docker accepts', async () => {
      await expect(service.get(a, hub.id)).resolves.toMatchObject({ id: hub.id });
      await expect(service.get(a, 'registry-1.docker.io')).resolves.toMatchObject({ id: hub.id });
    });

    it('answers RegistryNotFound for a login of another team', async () => {
      await expect(service.get(b, hub.id)).rejects.toMatchObject({ reason: 'RegistryNotFound' });
      await expect(service.get(b, 'docker.io')).rejects.toMatchObject({ reason: 'RegistryNotFound' });
    });

    it('removes a login of the team, and only that', async () => {
      await service.remove(a, 'docker.io');
      await expect(service.get(a, hub.id)).rejects.toMatchObject({ reason: 'RegistryNotFound' });
      await expect(service.list(a)).resolves.toHaveLength(1);
      await expect(service.list(b)).resolves.toHaveLength(1);
    });

    it('refuses to remove another team’s login', async () => {
      await expect(service.remove(b, hub.id)).rejects.toMatchObject({ reason: 'RegistryNotFound' });
      await expect(service.get(a, hub.id)).resolves.toMatchObject({ id: hub.id });
    });
  });

  describe('sealedLoginFor', () => {
    it('seals the team’s login to the host’s key: only that host, for that team, opens it', async () => {
      const keys = newSealingKeyPair();
      const host = await seedHost(db, teamA, 'h1', { sealingKey: keys.publicKey });
      await service.save(auth(teamA), { server: 'registry.example.com', username: 'deploy', password: 'hunter2' });
      const sealed = await service.sealedLoginFor(teamA.id, 'registry.example.com', host);
      expect(JSON.stringify(sealed)).not.toContain('hunter2');
      expect(openLogin(sealed!, keys.privateKeyPem, { hostName: 'h1', teamId: teamA.id })).toEqual({
        server: 'registry.example.com',
        username: 'deploy',
        password: 'hunter2',
      });
      expect(() => openLogin(sealed!, newSealingKeyPair().privateKeyPem, { hostName: 'h1', teamId: teamA.id })).toThrow();
      expect(() => openLogin(sealed!, keys.privateKeyPem, { hostName: 'h1', teamId: teamB.id })).toThrow();
    });

    it('answers nothing when the team has no login for the server, even for a host without a key', async () => {
      const host = await seedHost(db, teamA, 'h1');
      await service.save(auth(teamB), { server: 'registry.example.com', username: 'other', password: 'x' });
      await expect(service.sealedLoginFor(teamA.id, 'registry.example.com', host)).resolves.toBeUndefined();
    });

    it('refuses a host that reports no sealing key, rather than sending the login in the clear', async () => {
      const host = await seedHost(db, teamA, 'old');
      await service.save(auth(teamA), { server: 'registry.example.com', username: 'deploy', password: 'hunter2' });
      await expect(service.sealedLoginFor(teamA.id, 'registry.example.com', host)).rejects.toMatchObject({ reason: 'HostCannotOpenLogins' });
    });
  });
});
