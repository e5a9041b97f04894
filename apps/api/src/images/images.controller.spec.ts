import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { FailedPreconditionError, Host, Image, JobName, NotFoundError, Operation, UnavailableError } from '@berth/domain';
import { HostsService } from '../hosts/hosts.service';
import { newOperation } from '../operations/operations.service';
import { WorkerRpc } from '../rpc/worker-rpc.service';
import { createControllerHarness, TEAM_AUTH } from '../testing/controller-harness';
import { strictMock } from '../testing/strict-mock';
import { testHostInfo } from '../testing/test-database';
import { ImagesRemovalService } from './images-removal.service';
import { ImagesTransferService } from './images-transfer.service';
import { ImagesController, UploadsController } from './images.controller';
import { ImagesService, TeamImage } from './images.service';
import { digestOf } from './testing/image-fixtures';
import { UploadStore } from './upload-store.service';

const BUSYBOX = 'docker.io/library/busybox:latest';
const host = Object.assign(new Host(), {
  id: 'host_01jd8x6w3q0000000000000000',
  teamId: TEAM_AUTH.teamId,
  name: 'h1',
  status: 'ready' as const,
  info: testHostInfo('h1'),
  lastHeartbeatAt: new Date('2026-12-01T10:00:00.000Z'),
  createdAt: new Date('2026-12-01T09:00:00.000Z'),
});
const row = Object.assign(new Image(), {
  id: 'img_01jd8x6w3q0000000000000000',
  teamId: TEAM_AUTH.teamId,
  hostId: host.id,
  digest: digestOf('a'),
  configDigest: digestOf('f'),
  references: [BUSYBOX],
  sizeBytes: 2048,
  config: { cmd: ['sh'] },
  os: 'linux',
  architecture: 'amd64',
  history: [{ createdBy: 'CMD ["sh"]', emptyLayer: true, sizeBytes: 0 }],
  createdAt: new Date('2026-12-01T10:00:00.000Z'),
});
const image: TeamImage = { rows: [row], primary: row, digest: row.digest, references: [BUSYBOX], hostIds: [host.id] };
const imageBody = {
  id: row.id,
  digest: digestOf('a'),
  configDigest: digestOf('f'),
  references: [BUSYBOX],
  tags: ['busybox:latest'],
  sizeBytes: 2048,
  config: { cmd: ['sh'] },
  os: 'linux',
  architecture: 'amd64',
  hosts: [{ id: host.id, name: 'h1' }],
  createdAt: '2026-12-01T10:00:00.000Z',
};
const operation = (kind: Operation['kind']): Operation =>
  newOperation({
    id: 'op_01jd8x6w3q0000000000000000',
    teamId: TEAM_AUTH.teamId,
    kind,
    targetKind: 'image',
    targetId: BUSYBOX,
    hostId: host.id,
    job: { name: JobName.ImagePull, queue: 'berth-host-h1', payload: {} as never },
  });
const operationBody = (kind: string) => expect.objectContaining({ id: 'op_01jd8x6w3q0000000000000000', kind, status: 'queued', hostId: host.id });

describe('ImagesController and UploadsController', () => {
  let app: INestApplication;
  const images = strictMock<ImagesService>({ list: jest.fn(), get: jest.fn(), hostHolding: jest.fn(), tag: jest.fn() });
  const transfers = strictMock<ImagesTransferService>({ load: jest.fn(), pull: jest.fn(), push: jest.fn() });
  const removals = strictMock<ImagesRemovalService>({ remove: jest.fn(), prune: jest.fn() });
  const hosts = strictMock<HostsService>({ list: jest.fn() });
  const rpc = strictMock<WorkerRpc>({ exportImages: jest.fn() });
  const uploads = strictMock<UploadStore>({ verify: jest.fn(), open: jest.fn() });
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await createControllerHarness({
      controllers: [ImagesController, UploadsController],
      providers: [
        { provide: ImagesService, useValue: images },
        { provide: ImagesTransferService, useValue: transfers },
        { provide: ImagesRemovalService, useValue: removals },
        { provide: HostsService, useValue: hosts },
        { provide: WorkerRpc, useValue: rpc },
        { provide: UploadStore, useValue: uploads },
      ],
    });
  });
  afterAll(() => app.close());
  beforeEach(() => {
    jest.resetAllMocks();
    hosts.list.mockResolvedValue([host]);
  });

  describe('POST /v1/images/load', () => {
    it('hands the body to the service and answers 202 with the operation at Location', async () => {
      let received = '';
      transfers.load.mockImplementation(async (_auth, body) => {
        received = await text(body as Readable);
        return { operation: operation('image.load'), sizeBytes: 9, sha256: 'ab'.repeat(32) };
      });
      const res = await http()
        .post('/v1/images/load?host=h1')
        .set('Authorization', 'Bearer team')
        .set('Content-Type', 'application/x-tar')
        .send(Buffer.from('tar bytes'))
        .expect(202);
      expect(received).toBe('tar bytes');
      expect(transfers.load).toHaveBeenCalledWith(TEAM_AUTH, expect.anything(), 'h1');
      expect(res.headers.location).toBe('/v1/operations/op_01jd8x6w3q0000000000000000');
      expect(res.body).toEqual({ operation: operationBody('image.load'), sizeBytes: 9, sha256: 'ab'.repeat(32) });
      expect(res.body.operation).not.toHaveProperty('job');
    });

    it('answers 400 naming the field for a host given twice or an unknown query field', async () => {
      const twice = await http().post('/v1/images/load?host=a&host=b').set('Authorization', 'Bearer team').send(Buffer.from('x')).expect(400);
      expect(twice.body.errors).toEqual([expect.objectContaining({ field: 'host' })]);
      const unknown = await http().post('/v1/images/load?hots=a').set('Authorization', 'Bearer team').send(Buffer.from('x')).expect(400);
      expect(unknown.body.errors).toEqual([expect.objectContaining({ field: 'hots' })]);
      expect(transfers.load).not.toHaveBeenCalled();
    });

    it('answers 503 problem+json when no host is ready, and 401 without a token', async () => {
      transfers.load.mockRejectedValue(new UnavailableError('no host is ready to run containers; start a worker', 'NoHostAvailable'));
      const res = await http().post('/v1/images/load').set('Authorization', 'Bearer team').send(Buffer.from('x')).expect(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 503, reason: 'NoHostAvailable' });
      transfers.load.mockClear();
      await http().post('/v1/images/load').send(Buffer.from('x')).expect(401);
      expect(transfers.load).not.toHaveBeenCalled();
    });
  });

  describe('POST /v1/images/pull', () => {
    it('answers 202 with the operation at Location', async () => {
      transfers.pull.mockResolvedValue(operation('image.pull'));
      const res = await http().post('/v1/images/pull').set('Authorization', 'Bearer team').send({ reference: 'busybox', platform: 'linux/arm64' }).expect(202);
      expect(transfers.pull).toHaveBeenCalledWith(TEAM_AUTH, 'busybox', { host: undefined, platform: 'linux/arm64' });
      expect(res.headers.location).toBe('/v1/operations/op_01jd8x6w3q0000000000000000');
      expect(res.body).toEqual({ operation: operationBody('image.pull') });
    });

    it('answers 400 naming the reference when it is missing or too long', async () => {
      const missing = await http().post('/v1/images/pull').set('Authorization', 'Bearer team').send({ host: 'h1' }).expect(400);
      expect(missing.body.errors).toEqual([expect.objectContaining({ field: 'reference' })]);
      const long = await http()
        .post('/v1/images/pull')
        .set('Authorization', 'Bearer team')
        .send({ reference: 'a'.repeat(513) })
        .expect(400);
      expect(long.body.errors).toEqual([expect.objectContaining({ field: 'reference' })]);
      expect(transfers.pull).not.toHaveBeenCalled();
    });
  });

  describe('GET /v1/images and /v1/images/:ref', () => {
    it('lists the team’s images with their hosts by name', async () => {
      images.list.mockResolvedValue([image]);
      const res = await http().get('/v1/images').set('Authorization', 'Bearer team').expect(200);
      expect(images.list).toHaveBeenCalledWith(TEAM_AUTH);
      expect(hosts.list).toHaveBeenCalledWith(TEAM_AUTH);
      expect(res.body).toEqual({ items: [imageBody] });
    });

    it('gets an image by an encoded reference', async () => {
      images.get.mockResolvedValue(image);
      const res = await http()
        .get(`/v1/images/${encodeURIComponent('registry.example.com:5000/team/app:1')}`)
        .set('Authorization', 'Bearer team')
        .expect(200);
      expect(images.get).toHaveBeenCalledWith(TEAM_AUTH, 'registry.example.com:5000/team/app:1');
      expect(res.body).toEqual(imageBody);
    });

    it('answers 404 problem+json for an image the team does not have, and 401 without a token', async () => {
      images.get.mockRejectedValue(new NotFoundError('image nope not found', 'ImageNotFound'));
      const res = await http().get('/v1/images/nope').set('Authorization', 'Bearer team').expect(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 404, reason: 'ImageNotFound', detail: 'image nope not found' });
      await http().get('/v1/images').expect(401);
      expect(images.list).not.toHaveBeenCalled();
    });

    it('GET /v1/images/:ref/history answers the steps, or an empty list when none were recorded', async () => {
      images.get.mockResolvedValueOnce(image);
      await expect(http().get('/v1/images/busybox/history').set('Authorization', 'Bearer team').expect(200)).resolves.toMatchObject({
        body: { items: [{ createdBy: 'CMD ["sh"]', emptyLayer: true, sizeBytes: 0 }] },
      });
      images.get.mockResolvedValueOnce({ ...image, primary: { ...row, history: null } });
      await expect(http().get('/v1/images/busybox/history').set('Authorization', 'Bearer team').expect(200)).resolves.toMatchObject({ body: { items: [] } });
    });
  });

  describe('POST /v1/images/:ref/tag', () => {
    it('answers the image with its new reference', async () => {
      images.tag.mockResolvedValue(image);
      const res = await http().post('/v1/images/busybox/tag').set('Authorization', 'Bearer team').send({ reference: 'localhost:5000/bb:1' }).expect(200);
      expect(images.tag).toHaveBeenCalledWith(TEAM_AUTH, 'busybox', 'localhost:5000/bb:1');
      expect(res.body).toEqual(imageBody);
    });

    it('answers 400 naming the reference when it is not a string', async () => {
      const res = await http().post('/v1/images/busybox/tag').set('Authorization', 'Bearer team').send({ reference: 7 }).expect(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'reference' })]);
      expect(images.tag).not.toHaveBeenCalled();
    });
  });

  describe('DELETE /v1/images/:ref', () => {
    it('answers what was untagged and deleted, with the hosts’ clean-up operations', async () => {
      removals.remove.mockResolvedValue({ untagged: [BUSYBOX], deleted: [digestOf('a')], operations: [operation('image.remove')] });
      const res = await http().delete('/v1/images/busybox?force=true').set('Authorization', 'Bearer team').expect(200);
      expect(removals.remove).toHaveBeenCalledWith(TEAM_AUTH, 'busybox', true);
      expect(res.body).toEqual({ untagged: [BUSYBOX], deleted: [digestOf('a')], operations: [operationBody('image.remove')] });
      removals.remove.mockResolvedValue({ untagged: [BUSYBOX], deleted: [], operations: [] });
      await http().delete('/v1/images/busybox').set('Authorization', 'Bearer team').expect(200);
      expect(removals.remove).toHaveBeenLastCalledWith(TEAM_AUTH, 'busybox', false);
    });

    it('answers 409 problem+json while a container uses the image', async () => {
      removals.remove.mockRejectedValue(new FailedPreconditionError('image busybox is used by container(s) web', 'ImageInUse'));
      const res = await http().delete('/v1/images/busybox').set('Authorization', 'Bearer team').expect(409);
      expect(res.body).toMatchObject({ status: 409, reason: 'ImageInUse' });
    });

    it('answers 400 naming force when it is not a boolean', async () => {
      const res = await http().delete('/v1/images/busybox?force=maybe').set('Authorization', 'Bearer team').expect(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'force' })]);
      expect(removals.remove).not.toHaveBeenCalled();
    });
  });

  describe('POST /v1/images/prune', () => {
    it('prunes untagged images by default, every unused one with all', async () => {
      removals.prune.mockResolvedValue({ untagged: [], deleted: [digestOf('a')], operations: [] });
      const res = await http().post('/v1/images/prune').set('Authorization', 'Bearer team').send({}).expect(200);
      expect(removals.prune).toHaveBeenLastCalledWith(TEAM_AUTH, false);
      expect(res.body).toEqual({ untagged: [], deleted: [digestOf('a')], operations: [] });
      await http().post('/v1/images/prune').set('Authorization', 'Bearer team').send({ all: true }).expect(200);
      expect(removals.prune).toHaveBeenLastCalledWith(TEAM_AUTH, true);
    });

    it('answers 400 naming all when it is not a boolean', async () => {
      const res = await http().post('/v1/images/prune').set('Authorization', 'Bearer team').send({ all: 'yes' }).expect(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'all' })]);
      expect(removals.prune).not.toHaveBeenCalled();
    });
  });

  describe('POST /v1/images/:ref/push', () => {
    it('answers 202 with the operation at Location', async () => {
      transfers.push.mockResolvedValue(operation('image.push'));
      const res = await http().post('/v1/images/busybox/push').set('Authorization', 'Bearer team').send({ reference: 'localhost:5000/bb:1' }).expect(202);
      expect(transfers.push).toHaveBeenCalledWith(TEAM_AUTH, 'busybox', 'localhost:5000/bb:1');
      expect(res.headers.location).toBe('/v1/operations/op_01jd8x6w3q0000000000000000');
      expect(res.body).toEqual({ operation: operationBody('image.push') });
      await http().post('/v1/images/busybox/push').set('Authorization', 'Bearer team').send({}).expect(202);
      expect(transfers.push).toHaveBeenLastCalledWith(TEAM_AUTH, 'busybox', undefined);
    });

    it('answers 400 naming an unknown field', async () => {
      const res = await http().post('/v1/images/busybox/push').set('Authorization', 'Bearer team').send({ target: 'x' }).expect(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'target' })]);
      expect(transfers.push).not.toHaveBeenCalled();
    });
  });

  describe('GET /v1/images/:ref/export', () => {
    it('streams the tar a host holding the image makes, named after the image', async () => {
      images.get.mockResolvedValue(image);
      images.hostHolding.mockResolvedValue(host);
      rpc.exportImages.mockImplementation(async function* () {
        yield Buffer.from('part1-');
        yield Buffer.from('part2');
      });
      const res = await http().get('/v1/images/busybox/export').set('Authorization', 'Bearer team').responseType('blob').expect(200);
      expect(rpc.exportImages).toHaveBeenCalledWith('h1', [{ digest: digestOf('a'), references: [BUSYBOX] }], expect.any(AbortSignal));
      expect(res.headers['content-type']).toMatch(/^application\/x-tar/);
      expect(res.headers['content-disposition']).toBe('attachment; filename="busybox_latest.tar"');
      expect((res.body as Buffer).toString()).toBe('part1-part2');
    });

    it('answers 503 problem+json when no ready host holds the image', async () => {
      images.get.mockResolvedValue(image);
      images.hostHolding.mockRejectedValue(new UnavailableError(`no ready host holds image ${digestOf('a')}`, 'HostNotReady'));
      const res = await http().get('/v1/images/busybox/export').set('Authorization', 'Bearer team').expect(503);
      expect(res.body).toMatchObject({ status: 503, reason: 'HostNotReady' });
      expect(rpc.exportImages).not.toHaveBeenCalled();
    });
  });

  describe('GET /v1/internal/uploads/:id', () => {
    const id = 'upl_00000000000000000000000001';

    it('streams the upload to a worker with a valid link, without a bearer token', async () => {
      uploads.verify.mockReturnValue(true);
      uploads.open.mockResolvedValue({ stream: Readable.from([Buffer.from('tar')]), sizeBytes: 3 });
      const res = await http().get(`/v1/internal/uploads/${id}?expires=123&sig=abc`).responseType('blob').expect(200);
      expect(uploads.verify).toHaveBeenCalledWith(id, '123', 'abc');
      expect(res.headers['content-type']).toMatch(/^application\/x-tar/);
      expect(res.headers['content-length']).toBe('3');
      expect((res.body as Buffer).toString()).toBe('tar');
    });

    it('answers 404 problem+json for a link that does not verify, without opening anything', async () => {
      uploads.verify.mockReturnValue(false);
      const res = await http().get(`/v1/internal/uploads/${id}?expires=123&sig=forged`).expect(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 404, detail: 'no such upload, or the link expired' });
      expect(uploads.open).not.toHaveBeenCalled();
    });
  });
});
