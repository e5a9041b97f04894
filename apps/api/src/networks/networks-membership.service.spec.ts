import { DataSource } from 'typeorm';
import { Host, Network, NetworkEndpoint, Team } from '@berth/domain';
import { Transactions } from '../database/transactions';
import { createTestDatabase, seedHost, seedTeam, seedContainer } from '../testing/test-database';
import { NetworksService } from './networks.service';
import { networksService } from './testing/network-fixtures';

describe('NetworksService: containers on networks (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let teamA: Team;
  let teamB: Team;
  let host: Host;
  let service: NetworksService;
  const a = () => ({ teamId: teamA.id, tokenId: 'tok_a', admin: false });
  const revision = async (id: string) => (await db.getRepository(Network).findOneByOrFail({ id })).revision;
  const addresses = async (networkId: string) => (await db.getRepository(NetworkEndpoint).find({ where: { networkId } })).map((e) => e.ipAddress).sort();

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    [teamA, teamB] = [await seedTeam(db, 'a'), await seedTeam(db, 'b')];
    host = await seedHost(db, teamA);
    service = networksService(tx);
  });
  afterEach(() => db.destroy());

  describe('allocate', () => {
    it('puts a container that names no network on the team’s default network, made on first use', async () => {
      const [c1, c2] = [await seedContainer(db, teamA, host, { name: 'c1' }), await seedContainer(db, teamA, host, { name: 'c2' })];
      const first = await tx.run(() => service.allocate(teamA.id, host.id, c1.id, []));
      const second = await tx.run(() => service.allocate(teamA.id, host.id, c2.id, []));
      expect(first).toEqual([
        expect.objectContaining({ name: 'default', subnet: '10.240.0.0/24', gateway: '10.240.0.1', ipAddress: '10.240.0.2', aliases: [] }),
      ]);
      expect(second).toEqual([expect.objectContaining({ networkId: first[0].networkId, ipAddress: '10.240.0.3' })]);
      await expect(db.getRepository(Network).countBy({ teamId: teamA.id, isDefault: true })).resolves.toBe(1);
      await expect(revision(first[0].networkId)).resolves.toBe(2);
    });

    it('gives the networks asked for, with fixed addresses and aliases', async () => {
      const front = await service.create(a(), { name: 'front', subnet: '10.50.0.0/24' });
      const back = await service.create(a(), { name: 'back' });
      const c = await seedContainer(db, teamA, host, { name: 'c' });
      const joined = await tx.run(() =>
        service.allocate(teamA.id, host.id, c.id, [
          { network: 'front', ipAddress: '10.50.0.9', aliases: ['web'] },
          { network: back.id, aliases: [] },
        ]),
      );
      expect(joined).toEqual([
        {
          networkId: front.id,
          name: 'front',
          bridge: front.bridge,
          subnet: '10.50.0.0/24',
          gateway: '10.50.0.1',
          internal: false,
          ipAddress: '10.50.0.9',
          aliases: ['web'],
        },
        expect.objectContaining({ networkId: back.id, ipAddress: '10.240.0.2' }),
      ]);
    });

    it('concurrent allocations on one network never share an address', async () => {
      const net = await service.create(a(), { name: 'front' });
      const containers = await Promise.all(Array.from({ length: 8 }, (_, i) => seedContainer(db, teamA, host, { name: `c${i}` })));
      const got = await Promise.all(containers.map((c) => tx.run(() => service.allocate(teamA.id, host.id, c.id, [{ network: 'front', aliases: [] }]))));
      expect(new Set(got.map(([n]) => n.ipAddress)).size).toBe(8);
      await expect(addresses(net.id)).resolves.toHaveLength(8);
    });

    it('refuses an address that is taken, or that the network cannot give, naming the field', async () => {
      await service.create(a(), { name: 'front', subnet: '10.50.0.0/24' });
      const [c1, c2] = [await seedContainer(db, teamA, host, { name: 'c1' }), await seedContainer(db, teamA, host, { name: 'c2' })];
      await tx.run(() => service.allocate(teamA.id, host.id, c1.id, [{ network: 'front', ipAddress: '10.50.0.9', aliases: [] }]));
      await expect(tx.run(() => service.allocate(teamA.id, host.id, c2.id, [{ network: 'front', ipAddress: '10.50.0.9', aliases: [] }]))).rejects.toMatchObject(
        {
          reason: 'AddressInUse',
        },
      );
      await expect(tx.run(() => service.allocate(teamA.id, host.id, c2.id, [{ network: 'front', ipAddress: '10.50.0.1', aliases: [] }]))).rejects.toMatchObject(
        {
          reason: 'InvalidAddress',
          violations: [expect.objectContaining({ field: 'networks[0].ipAddress' })],
        },
      );
    });

    it('refuses a network named twice, and another team’s network, and leaves nothing behind', async () => {
      const front = await service.create(a(), { name: 'front' });
      await service.create({ teamId: teamB.id, tokenId: 't', admin: false }, { name: 'theirs' });
      const c = await seedContainer(db, teamA, host, { name: 'c' });
      const twice = [
        { network: 'front', aliases: [] },
        { network: front.id, aliases: [] },
      ];
      await expect(tx.run(() => service.allocate(teamA.id, host.id, c.id, twice))).rejects.toMatchObject({
        reason: 'InvalidNetworks',
        violations: [expect.objectContaining({ field: 'networks[1]' })],
      });
      await expect(tx.run(() => service.allocate(teamA.id, host.id, c.id, [{ network: 'theirs', aliases: [] }]))).rejects.toMatchObject({
        reason: 'NetworkNotFound',
        message: expect.stringContaining('networks[0]'),
      });
      await expect(addresses(front.id)).resolves.toEqual([]);
      await expect(revision(front.id)).resolves.toBe(0);
    });

    it('joins the caller’s transaction: a create that fails later frees the address', async () => {
      const front = await service.create(a(), { name: 'front' });
      const c = await seedContainer(db, teamA, host, { name: 'c' });
      const failing = tx.run(async () => {
        await service.allocate(teamA.id, host.id, c.id, [{ network: 'front', aliases: [] }]);
        throw new Error('the container could not be written');
      });
      await expect(failing).rejects.toThrow('could not be written');
      await expect(addresses(front.id)).resolves.toEqual([]);
    });
  });

  describe('release, releaseOne, touch and networksOf', () => {
    it('free a container’s addresses and bump the revisions of the networks it left', async () => {
      const front = await service.create(a(), { name: 'front' });
      const back = await service.create(a(), { name: 'back' });
      const [c1, c2] = [await seedContainer(db, teamA, host, { name: 'c1' }), await seedContainer(db, teamA, host, { name: 'c2' })];
      const both = [
        { network: 'front', aliases: [] },
        { network: 'back', aliases: [] },
      ];
      await tx.run(() => service.allocate(teamA.id, host.id, c1.id, both));
      await tx.run(() => service.allocate(teamA.id, host.id, c2.id, [{ network: 'front', aliases: [] }]));
      await expect(service.networksOf({ containerId: c1.id })).resolves.toEqual(expect.arrayContaining([front.id, back.id]));
      await expect(service.networksOf({ hostId: host.id }).then((ids) => ids.sort())).resolves.toEqual([front.id, back.id].sort());

      await tx.run(() => service.releaseOne(c1.id, back.id));
      await expect(service.networksOf({ containerId: c1.id })).resolves.toEqual([front.id]);
      await expect(revision(back.id)).resolves.toBe(2);

      await tx.run(() => service.release(c1.id));
      await expect(service.networksOf({ containerId: c1.id })).resolves.toEqual([]);
      await expect(addresses(front.id)).resolves.toEqual(['10.240.0.3']);
      await expect(revision(front.id)).resolves.toBe(3);

      await tx.run(() => service.touch([front.id, front.id, back.id]));
      await expect(revision(front.id)).resolves.toBe(4);
      await expect(revision(back.id)).resolves.toBe(3);
      await expect(service.touch([])).resolves.toBeUndefined();
    });
  });

  describe('assertPortsFree', () => {
    const tcp = (hostPort: number, hostIp?: string) => ({ hostPort, containerPort: 80, protocol: 'tcp' as const, ...(hostIp ? { hostIp } : {}) });

    it('refuses a port the team’s container on the host publishes, naming it', async () => {
      await seedContainer(db, teamA, host, { name: 'web', spec: { ports: [tcp(8080)] } });
      await expect(service.assertPortsFree(teamA.id, host.id, [tcp(8080, '127.0.0.1')])).rejects.toMatchObject({
        reason: 'PortInUse',
        message: 'port 8080/tcp on this host is already published by container web',
      });
    });

    it('refuses a port another team’s container publishes, without naming it', async () => {
      await seedContainer(db, teamB, host, { name: 'secret', spec: { ports: [tcp(8080)] } });
      await expect(service.assertPortsFree(teamA.id, host.id, [tcp(9090), tcp(8080)])).rejects.toMatchObject({
        reason: 'PortInUse',
        message: 'port 8080/tcp on this host is already published by another team’s container',
      });
    });

    it('lets through free ports, ports on another host or address, and ports of failed containers', async () => {
      const other = await seedHost(db, teamA, 'h2');
      await seedContainer(db, teamA, other, { name: 'elsewhere', spec: { ports: [tcp(8080)] } });
      await seedContainer(db, teamA, host, { name: 'local', spec: { ports: [tcp(8081, '127.0.0.1')] } });
      await seedContainer(db, teamA, host, { name: 'dead', spec: { ports: [tcp(8082)] }, status: 'failed' });
      await expect(service.assertPortsFree(teamA.id, host.id, [tcp(8080), tcp(8081, '10.0.0.1'), tcp(8082)])).resolves.toBeUndefined();
      await expect(service.assertPortsFree(teamA.id, host.id, [])).resolves.toBeUndefined();
    });
  });
});
