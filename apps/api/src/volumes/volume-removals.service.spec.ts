import { DataSource } from 'typeorm';
import { Host, JobName, Operation, Team, Volume } from '@berth/domain';
import { Transactions } from '../database/transactions';
import { HostsService } from '../hosts/hosts.service';
import { JobProducer } from '../operations/job-producer.service';
import { NewOperation, OperationsService } from '../operations/operations.service';
import { strictMock } from '../testing/strict-mock';
import { seedContainer, createTestDatabase, seedHost, seedTeam } from '../testing/test-database';
import { VolumeRemovals } from './volume-removals.service';
import { VolumesRepository } from './volumes.repository';

describe('VolumeRemovals (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let teamA: Team;
  let teamB: Team;
  let h1: Host;
  let h2: Host;
  let removals: VolumeRemovals;
  const hosts = strictMock<HostsService>({ byId: jest.fn() });
  const operations = strictMock<OperationsService>({ insert: jest.fn() });
  const producer = strictMock<JobProducer>({ enqueue: jest.fn() });
  const a = () => ({ teamId: teamA.id, tokenId: 'tok_a', admin: false });

  const volume = async (team: Team, host: Host, name: string) => {
    const row = Object.assign(new Volume(), {
      id: `vol_${name}`,
      teamId: team.id,
      name,
      hostId: host.id,
      driver: 'local' as const,
      labels: {},
      createdAt: new Date(),
    });
    await db.getRepository(Volume).insert(row);
    return row;
  };
  const names = async (team: Team) => (await db.getRepository(Volume).findBy({ teamId: team.id })).map((v) => v.name).sort();

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    [teamA, teamB] = [await seedTeam(db, 'a'), await seedTeam(db, 'b')];
    [h1, h2] = [await seedHost(db, teamA, 'h1'), await seedHost(db, teamA, 'h2')];
    jest.resetAllMocks();
    hosts.byId.mockImplementation((id) => db.getRepository(Host).findOneByOrFail({ id }));
    operations.insert.mockImplementation(async (input: NewOperation) => ({ ...input, status: 'queued' }) as unknown as Operation);
    producer.enqueue.mockResolvedValue(true);
    removals = new VolumeRemovals(new VolumesRepository(tx), tx, hosts, operations, producer);
  });
  afterEach(() => db.destroy());

  it('remove deletes the volume and asks its host to remove the data, after the commit', async () => {
    const vol = await volume(teamA, h1, 'pgdata');
    const removed = await removals.remove(a(), 'pgdata');
    expect(removed.deleted).toEqual(['pgdata']);
    expect(operations.insert).toHaveBeenCalledWith({
      id: expect.stringMatching(/^op/),
      teamId: teamA.id,
      kind: 'volume.remove',
      targetKind: 'volume',
      targetId: vol.id,
      hostId: h1.id,
      job: expect.objectContaining({ name: JobName.VolumeRemove, payload: expect.objectContaining({ teamId: teamA.id, volumeIds: [vol.id] }) }),
    });
    expect(producer.enqueue).toHaveBeenCalledWith(removed.operations[0]);
    await expect(names(teamA)).resolves.toEqual([]);
  });

  it('remove is refused while a container of the team mounts it, naming the containers', async () => {
    const vol = await volume(teamA, h1, 'pgdata');
    await seedContainer(db, teamA, h1, { name: 'pg', spec: { mounts: [{ type: 'volume', source: 'pgdata', target: '/data', volumeId: vol.id }] } });
    await expect(removals.remove(a(), 'pgdata')).rejects.toMatchObject({ reason: 'VolumeInUse', message: 'volume pgdata is in use by container(s) pg' });
    await expect(names(teamA)).resolves.toEqual(['pgdata']);
    expect(operations.insert).not.toHaveBeenCalled();
  });

  it('remove answers 404 for another team’s volume', async () => {
    await volume(teamB, h1, 'theirs');
    await expect(removals.remove(a(), 'theirs')).rejects.toMatchObject({ reason: 'VolumeNotFound' });
    await expect(names(teamB)).resolves.toEqual(['theirs']);
  });

  it('a failed operation insert leaves the volumes in place, and nothing is enqueued', async () => {
    await volume(teamA, h1, 'pgdata');
    operations.insert.mockRejectedValueOnce(new Error('disk full'));
    await expect(removals.remove(a(), 'pgdata')).rejects.toThrow('disk full');
    await expect(names(teamA)).resolves.toEqual(['pgdata']);
    expect(producer.enqueue).not.toHaveBeenCalled();
  });

  it('prune deletes the team’s unused volumes, one operation per host', async () => {
    const used = await volume(teamA, h1, 'used');
    const [x, y, z] = [await volume(teamA, h1, 'x'), await volume(teamA, h1, 'y'), await volume(teamA, h2, 'z')];
    await volume(teamB, h1, 'theirs');
    await seedContainer(db, teamA, h1, { name: 'app', spec: { mounts: [{ type: 'volume', source: 'used', target: '/data', volumeId: used.id }] } });
    const pruned = await removals.prune(a());
    expect(pruned.deleted.sort()).toEqual(['x', 'y', 'z']);
    expect(pruned.operations.map((op) => [op.hostId, (op.job.payload as { volumeIds: string[] }).volumeIds])).toEqual([
      [h1.id, [x.id, y.id]],
      [h2.id, [z.id]],
    ]);
    expect(producer.enqueue).toHaveBeenCalledTimes(2);
    await expect(names(teamA)).resolves.toEqual(['used']);
    await expect(names(teamB)).resolves.toEqual(['theirs']);
    await expect(removals.prune(a())).resolves.toEqual({ deleted: [], operations: [] });
  });
});
