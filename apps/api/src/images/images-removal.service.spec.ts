import { DataSource } from 'typeorm';
import { Host, Image, JobName, Team } from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { Transactions } from '../database/transactions';
import { HostsService } from '../hosts/hosts.service';
import { JobProducer } from '../operations/job-producer.service';
import { OperationsService, newOperation } from '../operations/operations.service';
import { strictMock } from '../testing/strict-mock';
import { createTestDatabase, seedHost, seedTeam, seedContainer } from '../testing/test-database';
import { ImageJobs } from './image-jobs';
import { ImagesRemovalService } from './images-removal.service';
import { ImagesRepository } from './images.repository';
import { ImagesService } from './images.service';
import { digestOf, seedImage } from './testing/image-fixtures';

const BUSYBOX = 'docker.io/library/busybox:latest';
const APP = 'registry.example.com:5000/team/app:1';

describe('ImagesRemovalService (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let teamA: Team;
  let teamB: Team;
  let h1: Host;
  let h2: Host;
  let auth: AuthContext;
  let service: ImagesRemovalService;
  const hosts = strictMock<HostsService>({ byId: jest.fn(), list: jest.fn() });
  const operations = strictMock<OperationsService>({ insert: jest.fn() });
  const producer = strictMock<JobProducer>({ enqueue: jest.fn() });

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    [teamA, teamB] = [await seedTeam(db, 'a'), await seedTeam(db, 'b')];
    [h1, h2] = [await seedHost(db, teamA, 'h1'), await seedHost(db, teamA, 'h2')];
    auth = { teamId: teamA.id, tokenId: 'tok_1', admin: false };
    jest.resetAllMocks();
    hosts.byId.mockImplementation(async (id) => [h1, h2].find((h) => h.id === id)!);
    hosts.list.mockResolvedValue([h1, h2]);
    operations.insert.mockImplementation(async (input) => newOperation(input));
    producer.enqueue.mockResolvedValue(true);
    const repository = new ImagesRepository(tx);
    service = new ImagesRemovalService(new ImagesService(repository, tx, hosts), repository, hosts, new ImageJobs(operations, producer, tx));
  });
  afterEach(() => db.destroy());

  const digestsOf = async (team: Team) => (await db.getRepository(Image).find({ where: { teamId: team.id } })).map((r) => r.digest).sort();
  const payloads = () => operations.insert.mock.calls.map(([input]) => ({ hostId: input.hostId, name: input.job.name, payload: input.job.payload }));

  describe('remove', () => {
    it('only untags a reference of an image that has others', async () => {
      await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX, APP]);
      await expect(service.remove(auth, 'busybox', false)).resolves.toEqual({ untagged: [BUSYBOX], deleted: [], operations: [] });
      expect((await db.getRepository(Image).findOneByOrFail({ teamId: teamA.id })).references).toEqual([APP]);
      expect(operations.insert).not.toHaveBeenCalled();
    });

    it('deletes the team’s image on every host and has the hosts no team holds it on drop it', async () => {
      await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX]);
      await seedImage(db, teamA, h2, digestOf('a'), [BUSYBOX]);
      await seedImage(db, teamB, h2, digestOf('a'), [BUSYBOX]);
      const removed = await service.remove(auth, digestOf('a'), false);
      expect(removed).toMatchObject({ untagged: [BUSYBOX], deleted: [digestOf('a')] });
      expect(removed.operations).toEqual([expect.objectContaining({ kind: 'image.remove', hostId: h1.id, targetId: 'h1' })]);
      expect(payloads()).toEqual([
        { hostId: h1.id, name: JobName.ImageRemove, payload: expect.objectContaining({ teamId: teamA.id, digests: [digestOf('a')] }) },
      ]);
      await expect(digestsOf(teamA)).resolves.toEqual([]);
      await expect(digestsOf(teamB)).resolves.toEqual([digestOf('a')]);
    });

    it('leaves a host that is not ready to the next prune', async () => {
      await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX]);
      hosts.byId.mockResolvedValue({ ...h1, status: 'down' });
      await expect(service.remove(auth, 'busybox', false)).resolves.toMatchObject({ deleted: [digestOf('a')], operations: [] });
    });

    it('refuses (ImageInUse) while a container of the team uses the image, unless forced', async () => {
      await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX]);
      await seedContainer(db, teamA, h1, { name: 'web', spec: { imageDigest: digestOf('a') } });
      await expect(service.remove(auth, 'busybox', false)).rejects.toMatchObject({ reason: 'ImageInUse', message: expect.stringContaining('web') });
      await expect(digestsOf(teamA)).resolves.toEqual([digestOf('a')]);
      await expect(service.remove(auth, 'busybox', true)).resolves.toMatchObject({ deleted: [digestOf('a')] });
    });

    it('does not count failed containers or other teams’ containers as users', async () => {
      await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX]);
      await seedContainer(db, teamA, h1, { name: 'broken', spec: { imageDigest: digestOf('a') }, status: 'failed' });
      await seedContainer(db, teamB, h1, { name: 'theirs', spec: { imageDigest: digestOf('a') } });
      await expect(service.remove(auth, 'busybox', false)).resolves.toMatchObject({ deleted: [digestOf('a')] });
    });

    it('answers ImageNotFound for another team’s image', async () => {
      await seedImage(db, teamB, h1, digestOf('a'), [BUSYBOX]);
      await expect(service.remove(auth, 'busybox', true)).rejects.toMatchObject({ reason: 'ImageNotFound' });
      await expect(digestsOf(teamB)).resolves.toEqual([digestOf('a')]);
    });
  });

  describe('prune', () => {
    beforeEach(async () => {
      await seedImage(db, teamA, h1, digestOf('a'), []); // untagged, unused
      await seedImage(db, teamA, h1, digestOf('b'), [BUSYBOX]); // tagged, unused
      await seedImage(db, teamA, h2, digestOf('c'), []); // untagged, used
      await seedContainer(db, teamA, h2, { name: 'web', spec: { imageDigest: digestOf('c') } });
      await seedImage(db, teamB, h2, digestOf('d'), []); // another team's
    });

    it('drops the team’s unused untagged images and has every ready host keep what teams still hold', async () => {
      const removed = await service.prune(auth, false);
      expect(removed).toMatchObject({ untagged: [], deleted: [digestOf('a')] });
      await expect(digestsOf(teamA)).resolves.toEqual([digestOf('b'), digestOf('c')]);
      await expect(digestsOf(teamB)).resolves.toEqual([digestOf('d')]);
      expect(removed.operations.map((o) => o.hostId)).toEqual([h1.id, h2.id]);
      expect(payloads().map((p) => [p.hostId, (p.payload as { keep: string[] }).keep.sort()])).toEqual([
        [h1.id, [digestOf('b')]],
        [h2.id, [digestOf('c'), digestOf('d')]],
      ]);
    });

    it('with all, drops every image no container of the team uses', async () => {
      const removed = await service.prune(auth, true);
      expect(removed).toMatchObject({ untagged: [BUSYBOX], deleted: expect.arrayContaining([digestOf('a'), digestOf('b')]) });
      await expect(digestsOf(teamA)).resolves.toEqual([digestOf('c')]);
    });

    it('asks only ready hosts to collect', async () => {
      hosts.list.mockResolvedValue([h1, { ...h2, status: 'unreachable' }]);
      const removed = await service.prune(auth, false);
      expect(removed.operations.map((o) => o.hostId)).toEqual([h1.id]);
    });
  });
});
