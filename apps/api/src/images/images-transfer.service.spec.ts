import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { Host, JobName, NotFoundError, Team, UnavailableError } from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { ApiConfig } from '../config';
import { Transactions } from '../database/transactions';
import { HostsService } from '../hosts/hosts.service';
import { JobProducer } from '../operations/job-producer.service';
import { OperationsService, newOperation } from '../operations/operations.service';
import { RegistriesService } from '../registries/registries.service';
import { strictMock } from '../testing/strict-mock';
import { createTestDatabase, seedHost, seedTeam } from '../testing/test-database';
import { ImageJobs } from './image-jobs';
import { ImagesTransferService } from './images-transfer.service';
import { ImagesRepository } from './images.repository';
import { ImagesService } from './images.service';
import { digestOf, seedImage } from './testing/image-fixtures';
import { UploadStore } from './upload-store.service';

/** What the registries feature answers for a team with a login: the login sealed for the host (its contents are the registries' concern). */
const SEALED_LOGIN = { v: 1 as const, epk: 'ZXBr', iv: 'aXY=', box: 'Ym94' };

describe('ImagesTransferService (in-memory SQLite, uploads on a temp dir)', () => {
  let db: DataSource;
  let tx: Transactions;
  let dir: string;
  let team: Team;
  let h1: Host;
  let auth: AuthContext;
  let uploads: UploadStore;
  let service: ImagesTransferService;
  const hosts = strictMock<HostsService>({ byId: jest.fn(), get: jest.fn(), schedule: jest.fn(), assertReady: jest.fn() });
  const operations = strictMock<OperationsService>({ insert: jest.fn() });
  const producer = strictMock<JobProducer>({ enqueue: jest.fn() });
  const registries = strictMock<RegistriesService>({ sealedLoginFor: jest.fn() });

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    dir = await mkdtemp(join(tmpdir(), 'berth-images-'));
    team = await seedTeam(db, 'a');
    h1 = await seedHost(db, team, 'h1');
    auth = { teamId: team.id, tokenId: 'tok_1', admin: false };
    jest.resetAllMocks();
    hosts.schedule.mockResolvedValue(h1);
    hosts.get.mockResolvedValue(h1);
    hosts.byId.mockResolvedValue(h1);
    hosts.assertReady.mockImplementation((h) => h);
    operations.insert.mockImplementation(async (input) => newOperation(input));
    producer.enqueue.mockResolvedValue(true);
    registries.sealedLoginFor.mockResolvedValue(undefined);
    uploads = new UploadStore({ dataDir: dir, secret: 's'.repeat(40), maxUploadBytes: 1024 } as ApiConfig);
    const images = new ImagesService(new ImagesRepository(tx), tx, hosts);
    service = new ImagesTransferService(images, hosts, uploads, registries, new ImageJobs(operations, producer, tx));
  });
  afterEach(async () => {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  const uploaded = () => readdir(join(dir, 'uploads')).catch(() => []);

  describe('load', () => {
    it('stores the tar and enqueues a load on a scheduled host, with a signed link to the upload', async () => {
      const result = await service.load(auth, Readable.from([Buffer.from('tar bytes')]));
      expect(result).toMatchObject({ sizeBytes: 9, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      const { uploadId, downloadPath } = result.operation.job.payload as { uploadId: string; downloadPath: string };
      expect(result.operation).toMatchObject({ kind: 'image.load', targetKind: 'image', targetId: uploadId, hostId: h1.id, teamId: team.id });
      expect(result.operation.job).toMatchObject({ name: JobName.ImageLoad, payload: { operationId: result.operation.id, teamId: team.id, sizeBytes: 9 } });
      expect(downloadPath).toMatch(new RegExp(`^/v1/internal/uploads/${uploadId}\\?expires=\\d+&sig=`));
      expect(hosts.schedule).toHaveBeenCalledWith(auth);
      expect(producer.enqueue).toHaveBeenCalledWith(result.operation);
      await expect(uploaded()).resolves.toEqual([`${uploadId}.tar`]);
    });

    it('loads on the host asked for', async () => {
      await service.load(auth, Readable.from([Buffer.from('x')]), 'h1');
      expect(hosts.get).toHaveBeenCalledWith(auth, 'h1');
      expect(hosts.schedule).not.toHaveBeenCalled();
    });

    it('refuses before storing anything when the host is not ready', async () => {
      hosts.assertReady.mockImplementation(() => {
        throw new UnavailableError('host h1 is down', 'HostNotReady');
      });
      await expect(service.load(auth, Readable.from([Buffer.from('x')]))).rejects.toMatchObject({ reason: 'HostNotReady' });
      await expect(uploaded()).resolves.toEqual([]);
    });

    it('removes the upload when the operation cannot be written', async () => {
      operations.insert.mockRejectedValue(new Error('database gone'));
      await expect(service.load(auth, Readable.from([Buffer.from('x')]))).rejects.toThrow('database gone');
      await expect(uploaded()).resolves.toEqual([]);
      expect(producer.enqueue).not.toHaveBeenCalled();
    });
  });

  describe('pull', () => {
    it('enqueues a pull of the normalized reference with the team’s login for the registry', async () => {
      registries.sealedLoginFor.mockResolvedValue(SEALED_LOGIN);
      const op = await service.pull(auth, 'registry.example.com:5000/team/app:1', { platform: 'linux/arm64' });
      expect(registries.sealedLoginFor).toHaveBeenCalledWith(team.id, 'registry.example.com:5000', expect.objectContaining({ id: h1.id }));
      expect(op).toMatchObject({ kind: 'image.pull', targetId: 'registry.example.com:5000/team/app:1', hostId: h1.id });
      expect(op.job).toEqual({
        name: JobName.ImagePull,
        queue: expect.stringContaining('h1'),
        payload: {
          operationId: op.id,
          teamId: team.id,
          reference: 'registry.example.com:5000/team/app:1',
          platform: 'linux/arm64',
          login: SEALED_LOGIN,
        },
      });
      expect(producer.enqueue).toHaveBeenCalledWith(op);
    });

    it('pulls onto the host asked for, from Docker Hub for a short name', async () => {
      const op = await service.pull(auth, 'busybox', { host: 'h1' });
      expect(hosts.get).toHaveBeenCalledWith(auth, 'h1');
      expect(op.job.payload).toMatchObject({ reference: 'docker.io/library/busybox:latest', login: undefined });
    });

    it('refuses a malformed platform or reference, naming the field, before asking for a host', async () => {
      await expect(service.pull(auth, 'busybox', { platform: 'arm64' })).rejects.toMatchObject({
        reason: 'InvalidPlatform',
        violations: [{ field: 'platform' }],
      });
      await expect(service.pull(auth, 'Not A Reference')).rejects.toMatchObject({ violations: [expect.objectContaining({ field: 'reference' })] });
      expect(hosts.schedule).not.toHaveBeenCalled();
      expect(operations.insert).not.toHaveBeenCalled();
    });
  });

  describe('push', () => {
    beforeEach(async () => {
      await seedImage(db, team, h1, digestOf('a'), ['registry.example.com:5000/team/app:1']);
    });

    it('pushes the image to the reference that names it, from a ready host holding it', async () => {
      registries.sealedLoginFor.mockResolvedValue(SEALED_LOGIN);
      const op = await service.push(auth, 'registry.example.com:5000/team/app:1');
      expect(hosts.byId).toHaveBeenCalledWith(h1.id);
      expect(op).toMatchObject({ kind: 'image.push', hostId: h1.id, targetId: 'registry.example.com:5000/team/app:1' });
      expect(op.job.payload).toEqual({
        operationId: op.id,
        teamId: team.id,
        digest: digestOf('a'),
        reference: 'registry.example.com:5000/team/app:1',
        login: SEALED_LOGIN,
      });
    });

    it('pushes to another target when given one', async () => {
      const op = await service.push(auth, digestOf('a'), 'localhost:5000/copy:2');
      expect(registries.sealedLoginFor).toHaveBeenCalledWith(team.id, 'localhost:5000', expect.objectContaining({ id: h1.id }));
      expect(op.job.payload).toMatchObject({ digest: digestOf('a'), reference: 'localhost:5000/copy:2' });
    });

    it('refuses an image named by digest without a target, naming ref', async () => {
      await expect(service.push(auth, digestOf('a'))).rejects.toMatchObject({ violations: [expect.objectContaining({ field: 'ref' })] });
      expect(operations.insert).not.toHaveBeenCalled();
    });

    it('answers ImageNotFound for an image the team does not have', async () => {
      await expect(service.push(auth, 'other:1')).rejects.toBeInstanceOf(NotFoundError);
    });
  });
});
