import { DataSource } from 'typeorm';
import { Host, Image, InvalidArgumentError, NotFoundError, Team, UnavailableError } from '@berth/domain';
import { TeamScope } from '../common/auth-context';
import { Transactions } from '../database/transactions';
import { HostsService } from '../hosts/hosts.service';
import { strictMock } from '../testing/strict-mock';
import { createTestDatabase, seedHost, seedTeam } from '../testing/test-database';
import { ImagesRepository } from './images.repository';
import { ImagesService } from './images.service';
import { digestOf, loadedImage, seedImage } from './testing/image-fixtures';

const BUSYBOX = 'docker.io/library/busybox:latest';
const APP = 'registry.example.com:5000/team/app:1';
const at = (s: number) => new Date(Date.UTC(2020, 0, 1, 10, 0, s)); // before anything a test records now

describe('ImagesService (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let teamA: Team;
  let teamB: Team;
  let h1: Host;
  let h2: Host;
  let a: TeamScope;
  let service: ImagesService;
  const hosts = strictMock<HostsService>({ byId: jest.fn() });

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    [teamA, teamB] = [await seedTeam(db, 'a'), await seedTeam(db, 'b')];
    [h1, h2] = [await seedHost(db, teamA, 'h1'), await seedHost(db, teamA, 'h2')];
    a = { teamId: teamA.id };
    service = new ImagesService(new ImagesRepository(tx), tx, hosts);
    hosts.byId.mockReset();
  });
  afterEach(() => db.destroy());

  const rowsOf = (team: Team) => db.getRepository(Image).find({ where: { teamId: team.id }, order: { createdAt: 'ASC', hostId: 'ASC' } });

  describe('list', () => {
    it('answers one image per digest, newest first, with the references and hosts of all its rows', async () => {
      const old = await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX], at(1));
      await seedImage(db, teamA, h2, digestOf('a'), [APP], at(2));
      await seedImage(db, teamA, h1, digestOf('b'), [], at(3));
      const images = await service.list(a);
      expect(images.map((i) => i.digest)).toEqual([digestOf('b'), digestOf('a')]);
      expect(images[1]).toMatchObject({ primary: { id: old.id }, references: [BUSYBOX, APP], hostIds: [h1.id, h2.id] });
    });

    it('answers only the caller’s team’s images', async () => {
      await seedImage(db, teamB, h1, digestOf('a'), [BUSYBOX]);
      await expect(service.list(a)).resolves.toEqual([]);
    });

    it('refuses a scope without a team', async () => {
      await expect(service.list({ teamId: '' })).rejects.toThrow('no team');
    });
  });

  describe('get', () => {
    it('finds an image by row id, digest, reference (in any spelling) or reference@digest', async () => {
      const row = await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX]);
      await seedImage(db, teamA, h1, digestOf('b'), [APP]);
      await expect(service.get(a, row.id)).resolves.toMatchObject({ digest: digestOf('a') });
      await expect(service.get(a, digestOf('a'))).resolves.toMatchObject({ digest: digestOf('a') });
      await expect(service.get(a, 'busybox')).resolves.toMatchObject({ digest: digestOf('a') });
      await expect(service.get(a, `busybox@${digestOf('b')}`)).resolves.toMatchObject({ digest: digestOf('b') });
    });

    it('answers ImageNotFound for an unknown image and for another team’s', async () => {
      await seedImage(db, teamB, h1, digestOf('a'), [BUSYBOX]);
      await expect(service.get(a, 'busybox')).rejects.toMatchObject({ reason: 'ImageNotFound' });
      await expect(service.get(a, digestOf('a'))).rejects.toBeInstanceOf(NotFoundError);
    });

    it('refuses a malformed reference, naming the ref', async () => {
      await expect(service.get(a, 'UPPER CASE')).rejects.toMatchObject({ violations: [expect.objectContaining({ field: 'ref' })] });
    });
  });

  describe('resolveDigest', () => {
    it('answers the digest a reference carries, without reading', async () => {
      await expect(service.resolveDigest(a, `${BUSYBOX}@${digestOf('c')}`)).resolves.toBe(digestOf('c'));
    });

    it('answers the newest of the team’s images that has the reference', async () => {
      await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX], at(1));
      await seedImage(db, teamA, h2, digestOf('b'), [BUSYBOX], at(2));
      await seedImage(db, teamB, h1, digestOf('c'), [BUSYBOX], at(3));
      await expect(service.resolveDigest(a, BUSYBOX)).resolves.toBe(digestOf('b'));
    });

    it('answers undefined when the team has no image with the reference', async () => {
      await seedImage(db, teamB, h1, digestOf('a'), [BUSYBOX]);
      await expect(service.resolveDigest(a, BUSYBOX)).resolves.toBeUndefined();
    });
  });

  describe('hostHolding', () => {
    it('answers the first ready host that holds the image', async () => {
      await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX], at(1));
      await seedImage(db, teamA, h2, digestOf('a'), [BUSYBOX], at(2));
      hosts.byId.mockImplementation(async (id) => (id === h1.id ? { ...h1, status: 'down' } : h2));
      const image = await service.get(a, digestOf('a'));
      await expect(service.hostHolding(a, image)).resolves.toMatchObject({ id: h2.id });
    });

    it('answers HostNotReady when no holder is ready', async () => {
      await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX]);
      hosts.byId.mockResolvedValue({ ...h1, status: 'unreachable' });
      const image = await service.get(a, digestOf('a'));
      await expect(service.hostHolding(a, image)).rejects.toBeInstanceOf(UnavailableError);
      await expect(service.hostHolding(a, image)).rejects.toMatchObject({ reason: 'HostNotReady' });
    });
  });

  describe('tag', () => {
    it('adds the reference to every row of the image and takes it from the team’s other image', async () => {
      await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX], at(1));
      await seedImage(db, teamA, h2, digestOf('a'), [], at(2));
      await seedImage(db, teamA, h1, digestOf('b'), [APP], at(3));
      await seedImage(db, teamB, h1, digestOf('c'), [APP], at(4));
      await expect(service.tag(a, 'busybox', 'registry.example.com:5000/team/app:1')).resolves.toMatchObject({
        digest: digestOf('a'),
        references: [BUSYBOX, APP],
      });
      expect((await rowsOf(teamA)).map((r) => r.references)).toEqual([[BUSYBOX, APP], [APP], []]);
      expect((await rowsOf(teamB)).map((r) => r.references)).toEqual([[APP]]);
    });

    it('refuses a tag that names a digest, and an invalid reference, naming the field', async () => {
      await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX]);
      await expect(service.tag(a, 'busybox', `app@${digestOf('a')}`)).rejects.toMatchObject({
        reason: 'InvalidReference',
        violations: [{ field: 'reference' }],
      });
      await expect(service.tag(a, 'busybox', 'Not Valid')).rejects.toBeInstanceOf(InvalidArgumentError);
      expect((await rowsOf(teamA))[0].references).toEqual([BUSYBOX]);
    });

    it('answers ImageNotFound for an image of another team', async () => {
      await seedImage(db, teamB, h1, digestOf('a'), [BUSYBOX]);
      await expect(service.tag(a, 'busybox', APP)).rejects.toMatchObject({ reason: 'ImageNotFound' });
    });
  });

  describe('untag', () => {
    it('takes the reference from every row of the image and leaves its others', async () => {
      await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX, APP], at(1));
      await seedImage(db, teamA, h2, digestOf('a'), [APP], at(2));
      await service.untag(a, await service.get(a, APP), APP);
      expect((await rowsOf(teamA)).map((r) => r.references)).toEqual([[BUSYBOX], []]);
    });
  });

  describe('recordLoaded', () => {
    it('records a new image on the host for the team', async () => {
      const history = [{ createdBy: 'CMD ["sh"]', emptyLayer: true, sizeBytes: 0 }];
      await service.recordLoaded(teamA.id, h1.id, [loadedImage(digestOf('a'), [BUSYBOX], { history })]);
      expect(await rowsOf(teamA)).toEqual([
        expect.objectContaining({ id: expect.stringMatching(/^img_/), hostId: h1.id, digest: digestOf('a'), references: [BUSYBOX], history, os: 'linux' }),
      ]);
    });

    it('merges the references of an image the host already had, keeping its history when none came', async () => {
      const history = [{ createdBy: 'old', emptyLayer: false, sizeBytes: 5 }];
      const row = await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX], at(1), { history });
      await service.recordLoaded(teamA.id, h1.id, [loadedImage(digestOf('a'), [APP, BUSYBOX])]);
      expect(await rowsOf(teamA)).toEqual([expect.objectContaining({ id: row.id, references: [BUSYBOX, APP], history })]);
    });

    it('moves a reference from the team’s older image on the host to the newly loaded one, leaving other hosts and teams alone', async () => {
      await seedImage(db, teamA, h1, digestOf('a'), [BUSYBOX, APP], at(1));
      await seedImage(db, teamA, h2, digestOf('a'), [BUSYBOX], at(2));
      await seedImage(db, teamB, h1, digestOf('a'), [BUSYBOX], at(3));
      await service.recordLoaded(teamA.id, h1.id, [loadedImage(digestOf('b'), [BUSYBOX])]);
      expect((await rowsOf(teamA)).map((r) => [r.hostId, r.digest, r.references])).toEqual([
        [h1.id, digestOf('a'), [APP]],
        [h2.id, digestOf('a'), [BUSYBOX]],
        [h1.id, digestOf('b'), [BUSYBOX]],
      ]);
      expect((await rowsOf(teamB))[0].references).toEqual([BUSYBOX]);
    });

    it('opens no transaction of its own, so it finishes inside a caller’s (SQLite transactions take turns)', async () => {
      const inside = db.transaction(() => service.recordLoaded(teamA.id, h1.id, [loadedImage(digestOf('a'), [BUSYBOX])]));
      const stuck = new Promise((resolve) => setTimeout(() => resolve('stuck'), 3000));
      await expect(Promise.race([inside.then(() => 'done'), stuck])).resolves.toBe('done');
      await expect(rowsOf(teamA)).resolves.toHaveLength(1);
    });

    it('joins the caller’s transaction: when it fails, nothing is recorded', async () => {
      const failing = tx.run(async () => {
        await service.recordLoaded(teamA.id, h1.id, [loadedImage(digestOf('a'), [BUSYBOX])]);
        throw new Error('the report could not be applied');
      });
      await expect(failing).rejects.toThrow('could not be applied');
      await expect(rowsOf(teamA)).resolves.toEqual([]);
    });
  });
});
