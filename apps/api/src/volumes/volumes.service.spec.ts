import { DataSource } from 'typeorm';
import { ContainerMount, Host, Team, Volume } from '@berth/domain';
import { Transactions } from '../database/transactions';
import { HostsService } from '../hosts/hosts.service';
import { WorkerRpc } from '../rpc/worker-rpc.service';
import { strictMock } from '../testing/strict-mock';
import { seedContainer, createTestDatabase, seedHost, seedTeam } from '../testing/test-database';
import { VolumesRepository } from './volumes.repository';
import { VolumesService } from './volumes.service';

describe('VolumesService (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let teamA: Team;
  let teamB: Team;
  let h1: Host;
  let h2: Host;
  let service: VolumesService;
  const hosts = strictMock<HostsService>({ get: jest.fn(), schedule: jest.fn(), list: jest.fn(), byId: jest.fn() });
  const rpc = strictMock<WorkerRpc>({ call: jest.fn() });
  const a = () => ({ teamId: teamA.id, tokenId: 'tok_a', admin: false });
  const b = () => ({ teamId: teamB.id, tokenId: 'tok_b', admin: false });
  const volumeMount = (source?: string): ContainerMount => ({ type: 'volume', source, target: '/data' }) as ContainerMount;

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    [teamA, teamB] = [await seedTeam(db, 'a'), await seedTeam(db, 'b')];
    [h1, h2] = [await seedHost(db, teamA, 'h1', { volumesDir: '/var/lib/berth/volumes' }), await seedHost(db, teamA, 'h2')];
    jest.resetAllMocks();
    hosts.byId.mockImplementation((id) => db.getRepository(Host).findOneByOrFail({ id }));
    hosts.list.mockResolvedValue([h1, h2]);
    service = new VolumesService(new VolumesRepository(tx), tx, hosts, rpc);
  });
  afterEach(() => db.destroy());

  describe('create and insert', () => {
    it('makes the volume on the host named, or on the host the scheduler picks', async () => {
      hosts.get.mockResolvedValue(h2);
      hosts.schedule.mockResolvedValue(h1);
      await expect(service.create(a(), { name: 'pgdata', host: 'h2', labels: { app: 'pg' } })).resolves.toMatchObject({
        teamId: teamA.id,
        name: 'pgdata',
        hostId: h2.id,
        driver: 'local',
        labels: { app: 'pg' },
      });
      expect(hosts.get).toHaveBeenCalledWith(a(), 'h2');
      const unnamed = await service.create(a(), {});
      expect(unnamed).toMatchObject({ hostId: h1.id, labels: {} });
      expect(unnamed.name).toMatch(/^[0-9a-f]{32}$/);
      expect(hosts.schedule).toHaveBeenCalledWith(a());
    });

    it('refuses a name the team already has, not one another team has', async () => {
      await service.insert(teamA.id, h1.id, 'pgdata', {});
      await expect(service.insert(teamA.id, h1.id, 'pgdata', {})).rejects.toMatchObject({ reason: 'VolumeNameInUse' });
      await expect(service.insert(teamB.id, h1.id, 'pgdata', {})).resolves.toMatchObject({ teamId: teamB.id });
    });
  });

  describe('list, get and find', () => {
    it('list answers the team’s volumes newest first, with their hosts and users, no size', async () => {
      const older = await service.insert(teamA.id, h1.id, 'older', {});
      await new Promise((r) => setTimeout(r, 5));
      const newer = await service.insert(teamA.id, h2.id, 'newer', {});
      await service.insert(teamB.id, h1.id, 'theirs', {});
      const web = await seedContainer(db, teamA, h1, { name: 'web', spec: { mounts: [{ ...volumeMount('older'), volumeId: older.id }] } });
      const views = await service.list(a());
      expect(views.map((v) => v.volume.id)).toEqual([newer.id, older.id]);
      expect(views[1]).toMatchObject({ host: h1, usedBy: [{ id: web.id, name: 'web' }], sizeBytes: null });
      expect(views[0]).toMatchObject({ host: h2, usedBy: [] });
    });

    it('get answers the size the host reports, or null when the host is away or silent', async () => {
      const vol = await service.insert(teamA.id, h1.id, 'pgdata', {});
      rpc.call.mockResolvedValueOnce({ sizeBytes: 4096 });
      await expect(service.get(a(), 'pgdata')).resolves.toMatchObject({ volume: { id: vol.id }, host: { id: h1.id }, usedBy: [], sizeBytes: 4096 });
      expect(rpc.call).toHaveBeenCalledWith('h1', { method: 'volume.usage', volumeId: vol.id }, 5000);
      rpc.call.mockRejectedValueOnce(new Error('timeout'));
      await expect(service.get(a(), vol.id)).resolves.toMatchObject({ sizeBytes: null });
      await db.getRepository(Host).update({ id: h1.id }, { status: 'down' });
      await expect(service.get(a(), vol.id)).resolves.toMatchObject({ sizeBytes: null });
      expect(rpc.call).toHaveBeenCalledTimes(2);
    });

    it('another team’s volume is not found, by id or by name', async () => {
      const theirs = await service.insert(teamB.id, h1.id, 'theirs', {});
      await expect(service.find(a(), theirs.id)).rejects.toMatchObject({ reason: 'VolumeNotFound' });
      await expect(service.get(a(), 'theirs')).rejects.toMatchObject({ reason: 'VolumeNotFound' });
      await expect(service.find(b(), 'theirs')).resolves.toMatchObject({ id: theirs.id });
    });
  });

  describe('settleMounts', () => {
    it('fills in the volumes named, making the missing ones on the container’s host, and keeps other mounts', async () => {
      const existing = await service.insert(teamA.id, h1.id, 'pgdata', {});
      const bind = { type: 'bind', source: '/srv/data', target: '/srv' } as ContainerMount;
      const settled = await tx.run(() => service.settleMounts(a(), [volumeMount('pgdata'), bind, volumeMount('fresh'), volumeMount()], h1.id));
      expect(settled[0]).toEqual({ ...volumeMount('pgdata'), volumeId: existing.id });
      expect(settled[1]).toBe(bind);
      const fresh = await db.getRepository(Volume).findOneByOrFail({ teamId: teamA.id, name: 'fresh' });
      expect(settled[2]).toEqual({ ...volumeMount('fresh'), volumeId: fresh.id });
      expect(fresh.hostId).toBe(h1.id);
      expect(settled[3]).toMatchObject({ type: 'volume', source: expect.stringMatching(/^[0-9a-f]{32}$/), volumeId: expect.any(String) });
    });

    it('refuses a volume of another host, and the volumes it made go with the failed create', async () => {
      await service.insert(teamA.id, h2.id, 'elsewhere', {});
      await expect(tx.run(() => service.settleMounts(a(), [volumeMount('fresh'), volumeMount('elsewhere')], h1.id))).rejects.toMatchObject({
        reason: 'VolumeOnOtherHost',
      });
      await expect(db.getRepository(Volume).countBy({ name: 'fresh' })).resolves.toBe(0);
    });
  });

  describe('hostOfVolumes', () => {
    it('answers the host the named volumes live on, none when none exists, 409 when they live apart', async () => {
      await service.insert(teamA.id, h1.id, 'one', {});
      await service.insert(teamA.id, h1.id, 'two', {});
      await service.insert(teamA.id, h2.id, 'three', {});
      await service.insert(teamB.id, h2.id, 'theirs', {});
      await expect(service.hostOfVolumes(a(), [volumeMount('one'), volumeMount('two'), volumeMount('new')])).resolves.toBe(h1.id);
      await expect(service.hostOfVolumes(a(), [volumeMount('one'), volumeMount('theirs')])).resolves.toBe(h1.id);
      await expect(service.hostOfVolumes(a(), [volumeMount('new'), volumeMount()])).resolves.toBeUndefined();
      await expect(service.hostOfVolumes(a(), [volumeMount('one'), volumeMount('three')])).rejects.toMatchObject({ reason: 'VolumesOnDifferentHosts' });
    });
  });
});
