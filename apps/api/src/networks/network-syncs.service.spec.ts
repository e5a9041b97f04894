import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Host, JobName, Network, Team } from '@berth/domain';
import { Transactions } from '../database/transactions';
import { HostsService } from '../hosts/hosts.service';
import { JobProducer } from '../operations/job-producer.service';
import { strictMock } from '../testing/strict-mock';
import { createTestDatabase, seedHost, seedTeam, seedContainer } from '../testing/test-database';
import { NetworkSyncs } from './network-syncs.service';
import { NetworksRepository } from './networks.repository';
import { networksService } from './testing/network-fixtures';

describe('NetworkSyncs (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let team: Team;
  let h1: Host;
  let h2: Host;
  let syncs: NetworkSyncs;
  const producer = strictMock<JobProducer>({ add: jest.fn() });
  const hosts = strictMock<HostsService>({ byId: jest.fn() });

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    team = await seedTeam(db, 'a');
    h2 = await seedHost(db, team, 'h2');
    h1 = await seedHost(db, team, 'h1', { overlayAddress: '192.168.0.1' });
    producer.add.mockReset().mockResolvedValue(undefined);
    hosts.byId.mockReset().mockImplementation((id) => db.getRepository(Host).findOneByOrFail({ id }));
    syncs = new NetworkSyncs(new NetworksRepository(tx), tx, hosts, producer);
  });
  afterEach(() => db.destroy());

  async function twoMembers(): Promise<Network> {
    const networks = networksService(tx, syncs);
    const net = await networks.create({ teamId: team.id, tokenId: 't', admin: false }, { name: 'front' });
    const [web, db1] = [await seedContainer(db, team, h2, { name: 'web' }), await seedContainer(db, team, h1, { name: 'db' })];
    await tx.run(() => networks.allocate(team.id, h2.id, web.id, [{ network: 'front', aliases: ['www'] }]));
    await tx.run(() => networks.allocate(team.id, h1.id, db1.id, [{ network: 'front', aliases: [] }]));
    return net;
  }

  it('sends each changed network to every host with members on it, once per revision', async () => {
    const net = await twoMembers();
    await expect(syncs.flush()).resolves.toBe(1);
    expect(producer.add).toHaveBeenCalledTimes(2);
    const [first, second] = producer.add.mock.calls;
    expect(first[1]).toBe(`netsync-${net.id}-2-${h1.id}`);
    expect(second[1]).toBe(`netsync-${net.id}-2-${h2.id}`);
    expect(first[0]).toMatchObject({ name: JobName.NetworkSync, queue: expect.stringContaining('h1') });
    expect(first[0].payload).toEqual({
      networkId: net.id,
      bridge: net.bridge,
      revision: 2,
      vni: net.vni,
      hosts: [
        { hostId: h1.id, name: 'h1', overlayAddress: '192.168.0.1' },
        { hostId: h2.id, name: 'h2' },
      ],
      endpoints: [
        expect.objectContaining({ name: 'web', hostId: h2.id, ipAddress: '10.240.0.2', aliases: ['www'] }),
        expect.objectContaining({ name: 'db', hostId: h1.id, ipAddress: '10.240.0.3', aliases: [] }),
      ],
    });
    await expect(db.getRepository(Network).findOneByOrFail({ id: net.id })).resolves.toMatchObject({ revision: 2, syncedRevision: 2 });
    await expect(syncs.flush()).resolves.toBe(0);
    expect(producer.add).toHaveBeenCalledTimes(2);
  });

  it('never throws: what could not be sent stays pending for the next call', async () => {
    const net = await twoMembers();
    producer.add.mockRejectedValueOnce(new Error('redis is down'));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await expect(syncs.flush()).resolves.toBe(0);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('redis is down'));
    warn.mockRestore();
    await expect(db.getRepository(Network).findOneByOrFail({ id: net.id })).resolves.toMatchObject({ syncedRevision: 0 });
    await expect(syncs.flush()).resolves.toBe(1);
  });

  it('NetworksService.flushSyncs hands the work to it', async () => {
    await twoMembers();
    await expect(networksService(tx, syncs).flushSyncs()).resolves.toBe(1);
  });
});
