import { DataSource } from 'typeorm';
import { Host, Network, NetworkEndpoint, Team } from '@berth/domain';
import { Transactions } from '../database/transactions';
import { createTestDatabase, seedHost, seedTeam, seedContainer } from '../testing/test-database';
import { DEFAULT_NETWORK_NAME, NetworksService } from './networks.service';
import { networksService } from './testing/network-fixtures';

describe('NetworksService: the team’s networks (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let teamA: Team;
  let teamB: Team;
  let host: Host;
  let service: NetworksService;
  const a = () => ({ teamId: teamA.id, tokenId: 'tok_a', admin: false });
  const b = () => ({ teamId: teamB.id, tokenId: 'tok_b', admin: false });

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    [teamA, teamB] = [await seedTeam(db, 'a'), await seedTeam(db, 'b')];
    host = await seedHost(db, teamA);
    service = networksService(tx);
  });
  afterEach(() => db.destroy());

  describe('create', () => {
    it('gives a network the next free /24 of the pool, its first host address as gateway, a bridge and a VNI', async () => {
      const first = await service.create(a(), { name: 'front' });
      const second = await service.create(b(), { name: 'front', internal: true, labels: { tier: 'web' } });
      expect(first).toMatchObject({ teamId: teamA.id, subnet: '10.240.0.0/24', gateway: '10.240.0.1', ipRange: null, internal: false, isDefault: false });
      expect(second).toMatchObject({ teamId: teamB.id, subnet: '10.240.1.0/24', internal: true, labels: { tier: 'web' }, vni: first.vni + 1 });
      expect(first.bridge).toMatch(/^berth-.{9}$/);
      await expect(db.getRepository(Network).countBy({ name: 'front' })).resolves.toBe(2);
    });

    it('keeps the subnet, gateway and range asked for', async () => {
      await expect(service.create(a(), { name: 'back', subnet: '10.77.0.0/24', gateway: '10.77.0.254', ipRange: '10.77.0.128/25' })).resolves.toMatchObject({
        subnet: '10.77.0.0/24',
        gateway: '10.77.0.254',
        ipRange: '10.77.0.128/25',
      });
    });

    it('refuses a subnet overlapping any team’s network, and a name the team already has', async () => {
      await service.create(a(), { name: 'back', subnet: '10.77.0.0/20' });
      await expect(service.create(b(), { name: 'other', subnet: '10.77.1.0/24' })).rejects.toMatchObject({ reason: 'SubnetInUse' });
      await expect(service.create(a(), { name: 'back' })).rejects.toMatchObject({ reason: 'NetworkNameInUse' });
      await expect(db.getRepository(Network).count()).resolves.toBe(1);
    });

    it('refuses a gateway outside the subnet, naming the field', async () => {
      await expect(service.create(a(), { name: 'back', subnet: '10.77.0.0/24', gateway: '10.78.0.1' })).rejects.toMatchObject({
        reason: 'InvalidGateway',
        violations: [expect.objectContaining({ field: 'gateway' })],
      });
    });

    it('concurrent creates get distinct subnets and VNIs', async () => {
      const made = await Promise.all(Array.from({ length: 6 }, (_, i) => service.create(a(), { name: `n${i}` })));
      expect(new Set(made.map((n) => n.subnet)).size).toBe(6);
      expect(new Set(made.map((n) => n.vni)).size).toBe(6);
    });

    it('of overlapping subnets asked at once, exactly one is made', async () => {
      const subnets = ['10.77.0.0/16', '10.77.1.0/24', '10.77.128.0/17', '10.77.0.0/20'];
      const results = await Promise.allSettled(subnets.map((subnet, i) => service.create(a(), { name: `o${i}`, subnet })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ reason: 'SubnetInUse' });
    });
  });

  describe('list, get and idOf', () => {
    it('answer the team’s networks only, with their containers and addresses', async () => {
      const front = await service.create(a(), { name: 'front' });
      await service.create(b(), { name: 'theirs' });
      const web = await seedContainer(db, teamA, host, { name: 'web' });
      await tx.run(() => service.allocate(teamA.id, host.id, web.id, [{ network: 'front', aliases: ['www'] }]));
      const views = await service.list(a());
      expect(views.map((v) => v.network.name)).toEqual(['front']);
      expect(views[0].endpoints).toEqual([expect.objectContaining({ containerId: web.id, containerName: 'web', ipAddress: '10.240.0.2', aliases: ['www'] })]);
      await expect(service.get(a(), 'front')).resolves.toMatchObject({
        network: { id: front.id },
        endpoints: [expect.objectContaining({ containerName: 'web' })],
      });
      await expect(service.get(a(), front.id)).resolves.toMatchObject({ network: { name: 'front' } });
      await expect(service.idOf(a(), 'front')).resolves.toBe(front.id);
    });

    it('another team’s network is not found, by id or by name', async () => {
      const theirs = await service.create(b(), { name: 'theirs' });
      await expect(service.get(a(), theirs.id)).rejects.toMatchObject({ reason: 'NetworkNotFound' });
      await expect(service.idOf(a(), 'theirs')).rejects.toMatchObject({ reason: 'NetworkNotFound' });
    });

    it('a scope without a team is refused, never read as every team', async () => {
      await service.create(a(), { name: 'front' });
      await expect(service.list({ teamId: undefined as unknown as string, tokenId: 't', admin: false })).rejects.toThrow('no team');
    });
  });

  describe('remove', () => {
    it('deletes a network no container is on', async () => {
      await service.create(a(), { name: 'front' });
      await expect(service.remove(a(), 'front')).resolves.toBeUndefined();
      await expect(service.get(a(), 'front')).rejects.toMatchObject({ reason: 'NetworkNotFound' });
    });

    it('is refused while a container is on it', async () => {
      await service.create(a(), { name: 'front' });
      const web = await seedContainer(db, teamA, host, { name: 'web' });
      await tx.run(() => service.allocate(teamA.id, host.id, web.id, [{ network: 'front', aliases: [] }]));
      await expect(service.remove(a(), 'front')).rejects.toMatchObject({ reason: 'NetworkInUse', message: expect.stringContaining('1 container(s)') });
      await expect(service.get(a(), 'front')).resolves.toBeDefined();
    });

    it('answers 404 for another team’s network, and leaves it', async () => {
      await service.create(b(), { name: 'theirs' });
      await expect(service.remove(a(), 'theirs')).rejects.toMatchObject({ reason: 'NetworkNotFound' });
      await expect(db.getRepository(Network).countBy({ name: 'theirs' })).resolves.toBe(1);
    });
  });

  describe('prune', () => {
    it('deletes the team’s idle networks, not the default one, not busy ones, not another team’s', async () => {
      await service.create(a(), { name: 'idle' });
      await service.create(a(), { name: 'busy' });
      await service.create(b(), { name: 'theirs' });
      const web = await seedContainer(db, teamA, host, { name: 'web' });
      const job = await seedContainer(db, teamA, host, { name: 'job' });
      await tx.run(() => service.allocate(teamA.id, host.id, web.id, [{ network: 'busy', aliases: [] }]));
      await tx.run(() => service.allocate(teamA.id, host.id, job.id, [])); // makes the default network
      await db.getRepository(NetworkEndpoint).delete({ containerId: job.id }); // the default one is idle now
      await expect(service.prune(a())).resolves.toEqual(['idle']);
      expect((await service.list(a())).map((v) => v.network.name).sort()).toEqual(['busy', DEFAULT_NETWORK_NAME]);
      await expect(service.list(b())).resolves.toHaveLength(1);
      await expect(service.prune(a())).resolves.toEqual([]);
    });
  });
});
