import { DataSource } from 'typeorm';
import { Host, Image, Team, Volume, newId } from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { Transactions } from '../database/transactions';
import { AuthService } from '../teams/auth.service';
import { strictMock } from '../testing/strict-mock';
import { createTestDatabase, seedContainer, seedHost, seedTeam, testHostInfo } from '../testing/test-database';
import { HostsRepository } from './hosts.repository';
import { DOWN_AFTER_MS, HostsService, UNREACHABLE_AFTER_MS } from './hosts.service';

describe('HostsService (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let admin: Team;
  let team: Team;
  let other: Team;
  let service: HostsService;
  const auth = strictMock<AuthService>({ adminTeam: jest.fn() });
  const as = (t: Team): AuthContext => ({ teamId: t.id, tokenId: 'tok_1', admin: t.admin });
  const hostRow = (id: string) => db.getRepository(Host).findOneBy({ id });

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    admin = await seedTeam(db, 'admin', true);
    team = await seedTeam(db, 'payments');
    other = await seedTeam(db, 'search');
    auth.adminTeam.mockReset().mockResolvedValue(admin);
    service = new HostsService(new HostsRepository(tx), tx, auth);
  });
  afterEach(() => db.destroy());

  describe('heartbeat', () => {
    it('registers an unknown host in the shared pool, then updates it and answers what it reported before', async () => {
      const first = new Date('2026-12-01T10:00:00.000Z');
      const registered = await service.heartbeat(testHostInfo('node-1'), first);
      expect(registered.previous).toBeUndefined();
      expect(registered.host).toMatchObject({ teamId: admin.id, name: 'node-1', status: 'ready', lastHeartbeatAt: first, createdAt: first });
      await expect(hostRow(registered.host.id)).resolves.toMatchObject({ teamId: admin.id, status: 'ready' });

      await db.getRepository(Host).update({ id: registered.host.id }, { status: 'down' });
      const later = new Date('2026-12-01T10:00:05.000Z');
      const info = { ...testHostInfo('node-1'), overlayAddress: '192.0.2.10' };
      const again = await service.heartbeat(info, later);
      expect(again.host).toMatchObject({ id: registered.host.id, status: 'ready', info, lastHeartbeatAt: later });
      expect(again.previous).toEqual(registered.host.info);
      await expect(hostRow(registered.host.id)).resolves.toMatchObject({ status: 'ready', info, lastHeartbeatAt: later, createdAt: first });
      await expect(db.getRepository(Host).count()).resolves.toBe(1);
    });

    it('joins the caller’s transaction: nothing is registered when it rolls back', async () => {
      await expect(
        tx.run(async () => {
          await service.heartbeat(testHostInfo('node-1'), new Date());
          throw new Error('the rest of the report failed');
        }),
      ).rejects.toThrow('rest of the report');
      await expect(db.getRepository(Host).count()).resolves.toBe(0);
    });
  });

  describe('sweep', () => {
    it('marks a silent host unreachable, then down, and leaves a fresh one ready', async () => {
      const now = Date.now();
      const silent = await seedHost(db, admin, 'silent');
      const fresh = await seedHost(db, admin, 'fresh');
      await db.getRepository(Host).update({ id: silent.id }, { lastHeartbeatAt: new Date(now - UNREACHABLE_AFTER_MS - 1000) });
      await service.sweep(now);
      await expect(hostRow(silent.id)).resolves.toMatchObject({ status: 'unreachable' });
      await expect(hostRow(fresh.id)).resolves.toMatchObject({ status: 'ready' });

      await db.getRepository(Host).update({ id: silent.id }, { lastHeartbeatAt: new Date(now - DOWN_AFTER_MS - 1000) });
      await service.sweep(now);
      await expect(hostRow(silent.id)).resolves.toMatchObject({ status: 'down' });
    });

    it('takes a ready host silent past both limits straight to down', async () => {
      const now = Date.now();
      const silent = await seedHost(db, admin, 'silent');
      await db.getRepository(Host).update({ id: silent.id }, { lastHeartbeatAt: new Date(now - DOWN_AFTER_MS - 1000) });
      await service.sweep(now);
      await expect(hostRow(silent.id)).resolves.toMatchObject({ status: 'down' });
    });
  });

  describe('list and get', () => {
    it('show a team the shared pool and its own hosts, by name, never another team’s', async () => {
      const pooled = await seedHost(db, admin, 'b-pool');
      const own = await seedHost(db, team, 'a-own');
      const theirs = await seedHost(db, other, 'c-theirs');
      await expect(service.list(as(team))).resolves.toEqual([expect.objectContaining({ id: own.id }), expect.objectContaining({ id: pooled.id })]);
      await expect(service.get(as(team), 'b-pool')).resolves.toMatchObject({ id: pooled.id });
      await expect(service.get(as(team), own.id)).resolves.toMatchObject({ name: 'a-own' });
      await expect(service.get(as(team), theirs.id)).rejects.toMatchObject({ reason: 'HostNotFound', message: `host ${theirs.id} not found` });
      await expect(service.get(as(team), 'c-theirs')).rejects.toMatchObject({ reason: 'HostNotFound' });
    });

    it('show the admin team the pool alone', async () => {
      const pooled = await seedHost(db, admin, 'pool');
      await seedHost(db, team, 'own');
      await expect(service.list(as(admin))).resolves.toEqual([expect.objectContaining({ id: pooled.id })]);
    });

    it('byId finds any team’s host, and assertReady refuses one that is not ready', async () => {
      const theirs = await seedHost(db, other, 'theirs');
      await expect(service.byId(theirs.id)).resolves.toMatchObject({ name: 'theirs' });
      expect(service.assertReady(theirs)).toBe(theirs);
      expect(() => service.assertReady({ ...theirs, status: 'down' }, 'where its volumes live')).toThrow(
        expect.objectContaining({ reason: 'HostNotReady', message: 'host theirs, where its volumes live, is down' }),
      );
    });
  });

  describe('remove', () => {
    it('refuses a host that any team has a container or volume on', async () => {
      const host = await seedHost(db, admin, 'node-1');
      await seedContainer(db, other, host);
      await seedVolume(db, team, host);
      await expect(service.remove(as(admin), 'node-1', true)).rejects.toMatchObject({
        reason: 'HostInUse',
        message: 'host node-1 still has 1 container(s) and 1 volume(s)',
      });
      await expect(hostRow(host.id)).resolves.not.toBeNull();
    });

    it('refuses a ready host unless forced', async () => {
      const host = await seedHost(db, admin, 'node-1');
      await expect(service.remove(as(admin), host.id, false)).rejects.toMatchObject({ reason: 'HostReady' });
      await expect(hostRow(host.id)).resolves.not.toBeNull();
    });

    it('forgets a host that is down, or forced, with every team’s image records of it', async () => {
      const down = await seedHost(db, admin, 'down');
      await db.getRepository(Host).update({ id: down.id }, { status: 'down' });
      const ready = await seedHost(db, admin, 'ready');
      await seedImage(db, team, down);
      await seedImage(db, other, ready);
      await service.remove(as(admin), 'down', false);
      await service.remove(as(admin), 'ready', true);
      await expect(db.getRepository(Host).count()).resolves.toBe(0);
      await expect(db.getRepository(Image).count()).resolves.toBe(0);
    });

    it('answers HostNotFound for a host the caller cannot see', async () => {
      const theirs = await seedHost(db, other, 'theirs');
      await expect(service.remove(as(admin), theirs.id, true)).rejects.toMatchObject({ reason: 'HostNotFound' });
    });
  });

  describe('schedule', () => {
    it('answers NoHostAvailable when no visible host is ready', async () => {
      const host = await seedHost(db, admin, 'node-1');
      await db.getRepository(Host).update({ id: host.id }, { status: 'unreachable' });
      await seedHost(db, other, 'theirs');
      await expect(service.schedule(as(team))).rejects.toMatchObject({ reason: 'NoHostAvailable' });
    });

    it('prefers a ready host where the team holds the image', async () => {
      const [a, b] = [await seedHost(db, admin, 'a'), await seedHost(db, admin, 'b')];
      await seedImage(db, team, b, 'sha256:web');
      await seedImage(db, other, a, 'sha256:web');
      await expect(service.schedule(as(team), 'sha256:web')).resolves.toMatchObject({ id: b.id });
    });

    it('else picks the ready host with the fewest containers, whoever’s they are', async () => {
      const [a, b, c] = [await seedHost(db, admin, 'a'), await seedHost(db, admin, 'b'), await seedHost(db, team, 'c')];
      await seedContainer(db, other, a);
      await seedContainer(db, team, c);
      await seedContainer(db, team, c);
      await expect(service.schedule(as(team), 'sha256:nobody-has-it')).resolves.toMatchObject({ id: b.id });
      await seedContainer(db, other, b);
      await seedContainer(db, other, b);
      await expect(service.schedule(as(team))).resolves.toMatchObject({ id: a.id });
    });
  });
});

async function seedVolume(db: DataSource, team: Team, host: Host): Promise<void> {
  await db
    .getRepository(Volume)
    .insert({ id: newId('volume'), teamId: team.id, name: 'data', hostId: host.id, driver: 'local', labels: {}, createdAt: new Date() });
}

async function seedImage(db: DataSource, team: Team, host: Host, digest = `sha256:${newId('image').slice(-12)}`): Promise<void> {
  await db.getRepository(Image).insert({
    id: newId('image'),
    teamId: team.id,
    hostId: host.id,
    digest,
    configDigest: 'sha256:config',
    references: [],
    sizeBytes: 1,
    config: {},
    os: 'linux',
    architecture: 'amd64',
    history: null,
    createdAt: new Date(),
  });
}
