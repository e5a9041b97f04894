import { DataSource } from 'typeorm';
import { Container, Host, JobName, LoadedImage, Operation, OperationKind, Team, TargetKind, newId, jobFor } from '@berth/domain';
import { RedisConnections } from '../common/redis';
import { Transactions } from '../database/transactions';
import { EventBus } from '../events/event-bus.service';
import { HostsService } from '../hosts/hosts.service';
import { ImagesService } from '../images/images.service';
import { UploadStore } from '../images/upload-store.service';
import { NetworksService } from '../networks/networks.service';
import { strictMock } from '../testing/strict-mock';
import { createTestDatabase, seedContainer, seedHost, seedTeam, testHostInfo } from '../testing/test-database';
import { ContainerReportsRepository } from './container-reports.repository';
import { HostReports } from './host-reports.service';
import { OperationReportsRepository } from './operation-reports.repository';
import { OperationReports } from './operation-reports.service';
import { ReportsConsumer } from './reports.consumer';

describe('ReportsConsumer (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let team: Team;
  let host: Host;
  let consumer: ReportsConsumer;
  const hosts = strictMock<HostsService>({ heartbeat: jest.fn() });
  const networks = strictMock<NetworksService>({ touch: jest.fn(), networksOf: jest.fn(), release: jest.fn(), flushSyncs: jest.fn() });
  const images = strictMock<ImagesService>({ recordLoaded: jest.fn() });
  const uploads = strictMock<UploadStore>({ remove: jest.fn() });
  const events = strictMock<EventBus>({ publish: jest.fn() });
  const at = '2026-12-01T10:00:00.000Z';

  const containerRow = (id: string) => db.getRepository(Container).findOneBy({ id });
  const operationRow = (id: string) => db.getRepository(Operation).findOneByOrFail({ id });
  const published = () => events.publish.mock.calls.map(([e]) => e);
  const publishedTypes = () => published().map((e) => e.type);

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    team = await seedTeam(db, 'payments');
    host = await seedHost(db, team, 'node-1');
    for (const mock of [
      hosts.heartbeat,
      networks.touch,
      networks.networksOf,
      networks.release,
      networks.flushSyncs,
      images.recordLoaded,
      uploads.remove,
      events.publish,
    ])
      mock.mockReset();
    networks.touch.mockResolvedValue(undefined);
    networks.networksOf.mockResolvedValue(['net_1']);
    networks.release.mockResolvedValue(undefined);
    networks.flushSyncs.mockResolvedValue(0);
    images.recordLoaded.mockResolvedValue(undefined);
    uploads.remove.mockResolvedValue(undefined);
    events.publish.mockResolvedValue(undefined);
    const containers = new ContainerReportsRepository(tx);
    consumer = new ReportsConsumer(
      strictMock<RedisConnections>(),
      tx,
      events,
      new HostReports(containers, hosts, networks),
      new OperationReports(new OperationReportsRepository(tx), containers, images, uploads),
    );
  });
  afterEach(() => db.destroy());

  describe('host.heartbeat', () => {
    it('applies the heartbeat in the report’s transaction and leaves the networks alone when nothing moved', async () => {
      const info = testHostInfo('node-1');
      hosts.heartbeat.mockImplementation(async () => {
        expect(tx.inTransaction).toBe(true);
        return { host, previous: info };
      });
      await consumer.apply({ kind: 'host.heartbeat', host: info, at });
      expect(hosts.heartbeat).toHaveBeenCalledWith(info, new Date(at));
      expect(networks.touch).not.toHaveBeenCalled();
      expect(networks.flushSyncs).not.toHaveBeenCalled();
    });

    it('tells the host’s networks of a new overlay address, then syncs them after the commit', async () => {
      const info = { ...testHostInfo('node-1'), overlayAddress: '192.0.2.10' };
      hosts.heartbeat.mockResolvedValue({ host, previous: testHostInfo('node-1') });
      await consumer.apply({ kind: 'host.heartbeat', host: info, at });
      expect(networks.networksOf).toHaveBeenCalledWith({ hostId: host.id });
      expect(networks.touch).toHaveBeenCalledWith(['net_1']);
      expect(networks.flushSyncs).toHaveBeenCalledTimes(1);
    });

    it('with an inventory applies each entry, fails what the host lost and deletes what it was removing', async () => {
      hosts.heartbeat.mockResolvedValue({ host });
      const [kept, lost, removing] = [
        await seedContainer(db, team, host, { status: 'created' }),
        await seedContainer(db, team, host),
        await seedContainer(db, team, host, { status: 'removing' }),
      ];
      await consumer.apply({
        kind: 'host.heartbeat',
        host: testHostInfo('node-1'),
        at,
        inventory: [{ containerId: kept.id, seq: 1, observed: { status: 'running', pid: 42 } }],
      });
      await expect(containerRow(kept.id)).resolves.toMatchObject({ status: 'running', pid: 42, reportSeq: 1 });
      await expect(containerRow(lost.id)).resolves.toMatchObject({
        status: 'failed',
        pid: null,
        version: lost.version + 1,
        error: { reason: 'ContainerLost' },
      });
      await expect(containerRow(removing.id)).resolves.toBeNull();
      expect(networks.release).toHaveBeenCalledWith(removing.id);
      expect(publishedTypes()).toEqual(['container.running', 'container.failed', 'container.deleted']);
      expect(networks.flushSyncs).toHaveBeenCalledTimes(1);
    });
  });

  describe('container', () => {
    it('applies an observation and publishes what changed', async () => {
      const c = await seedContainer(db, team, host, { status: 'created' });
      await consumer.apply({
        kind: 'container',
        hostName: 'node-1',
        containerId: c.id,
        seq: 3,
        observed: { status: 'running', pid: 7, startedAt: at, health: { status: 'starting', failingStreak: 0 } as never },
        at,
      });
      await expect(containerRow(c.id)).resolves.toMatchObject({ status: 'running', pid: 7, reportSeq: 3, startedAt: new Date(at), version: c.version + 1 });
      expect(published()).toEqual([
        { type: 'container.running', id: c.id, teamId: team.id, attributes: { name: c.name, image: c.spec.image } },
        { type: 'container.health_status', id: c.id, teamId: team.id, attributes: { name: c.name, status: 'starting', failingStreak: 0 } },
      ]);
    });

    it('records an exit with its code, and wakes waiters with container.updated when only the pid moved', async () => {
      const c = await seedContainer(db, team, host, { status: 'running' });
      await consumer.apply({ kind: 'container', hostName: 'node-1', containerId: c.id, seq: 1, observed: { status: 'running', pid: 8 }, at });
      expect(publishedTypes()).toEqual(['container.updated']);
      await consumer.apply({
        kind: 'container',
        hostName: 'node-1',
        containerId: c.id,
        seq: 2,
        observed: { status: 'exited', exitCode: 3, finishedAt: at },
        at,
      });
      await expect(containerRow(c.id)).resolves.toMatchObject({ status: 'exited', exitCode: 3, pid: null, finishedAt: new Date(at) });
      expect(published()[1]).toMatchObject({ type: 'container.exited', attributes: { exitCode: 3, oomKilled: false } });
    });

    it('ignores a stale report (a sequence number already applied)', async () => {
      const c = await seedContainer(db, team, host, { status: 'running', reportSeq: 5 });
      await consumer.apply({ kind: 'container', hostName: 'node-1', containerId: c.id, seq: 5, observed: { status: 'exited', exitCode: 1 }, at });
      await consumer.apply({ kind: 'container', hostName: 'node-1', containerId: c.id, seq: 4, observed: { status: 'exited', exitCode: 1 }, at });
      await expect(containerRow(c.id)).resolves.toMatchObject({ status: 'running', reportSeq: 5, version: c.version });
      expect(events.publish).not.toHaveBeenCalled();
    });

    it('ignores a report of a container already deleted', async () => {
      await consumer.apply({ kind: 'container', hostName: 'node-1', containerId: 'ctr_gone', seq: 1, observed: { status: 'running' }, at });
      expect(events.publish).not.toHaveBeenCalled();
    });

    it('deletes a removed container, frees its addresses and syncs its networks after the commit', async () => {
      const c = await seedContainer(db, team, host, { status: 'removing' });
      await consumer.apply({ kind: 'container', hostName: 'node-1', containerId: c.id, seq: 1, observed: { status: 'removed' }, at });
      await expect(containerRow(c.id)).resolves.toBeNull();
      expect(networks.release).toHaveBeenCalledWith(c.id);
      expect(published()).toEqual([{ type: 'container.deleted', id: c.id, teamId: team.id }]);
      expect(networks.flushSyncs).toHaveBeenCalledTimes(1);
    });

    it('writes nothing and publishes nothing when part of the report fails', async () => {
      const c = await seedContainer(db, team, host, { status: 'removing' });
      networks.release.mockRejectedValue(new Error('the network rows are locked'));
      await expect(consumer.apply({ kind: 'container', hostName: 'node-1', containerId: c.id, seq: 1, observed: { status: 'removed' }, at })).rejects.toThrow(
        'locked',
      );
      await expect(containerRow(c.id)).resolves.toMatchObject({ status: 'removing' });
      expect(events.publish).not.toHaveBeenCalled();
    });
  });

  describe('operation', () => {
    it('marks a queued operation running', async () => {
      const op = await seedOperation(db, team, host, 'container.start', 'container', 'ctr_1');
      await consumer.apply({ kind: 'operation', operationId: op.id, status: 'running', at });
      await expect(operationRow(op.id)).resolves.toMatchObject({ status: 'running', startedAt: new Date(at), finishedAt: null });
      expect(published()).toEqual([{ type: 'operation.running', id: op.id, teamId: team.id, attributes: { kind: 'container.start', targetId: 'ctr_1' } }]);
    });

    it('finishes an operation, merging its result', async () => {
      const op = await seedOperation(db, team, host, 'image.remove', 'image', 'sha256:x');
      await consumer.apply({ kind: 'operation', operationId: op.id, status: 'succeeded', result: { freedBytes: 10 }, at });
      await expect(operationRow(op.id)).resolves.toMatchObject({
        status: 'succeeded',
        startedAt: new Date(at),
        finishedAt: new Date(at),
        result: { freedBytes: 10 },
      });
      expect(publishedTypes()).toEqual(['operation.succeeded']);
    });

    it('a failed create fails its pending container with the reason', async () => {
      const c = await seedContainer(db, team, host, { status: 'pending' });
      const op = await seedOperation(db, team, host, 'container.create', 'container', c.id);
      const error = { class: 'NotFound', reason: 'ImageNotFound', message: 'no such image' } as const;
      await consumer.apply({ kind: 'operation', operationId: op.id, status: 'failed', error, at });
      await expect(operationRow(op.id)).resolves.toMatchObject({ status: 'failed', error });
      await expect(containerRow(c.id)).resolves.toMatchObject({ status: 'failed', error, version: c.version + 1 });
      expect(publishedTypes()).toEqual(['container.failed', 'operation.failed']);
    });

    it('never changes a finished operation', async () => {
      const op = await seedOperation(db, team, host, 'container.start', 'container', 'ctr_1', 'succeeded');
      await consumer.apply({ kind: 'operation', operationId: op.id, status: 'failed', at });
      await expect(operationRow(op.id)).resolves.toMatchObject({ status: 'succeeded' });
      expect(events.publish).not.toHaveBeenCalled();
    });
  });

  describe('operation.progress', () => {
    it('records progress of an operation under way, and not of a finished one', async () => {
      const running = await seedOperation(db, team, host, 'image.pull', 'image', 'busybox', 'running');
      const done = await seedOperation(db, team, host, 'image.pull', 'image', 'busybox', 'failed');
      const progress = { current: 1, total: 2 } as never;
      await consumer.apply({ kind: 'operation.progress', operationId: running.id, progress, at });
      await consumer.apply({ kind: 'operation.progress', operationId: done.id, progress, at });
      await expect(operationRow(running.id)).resolves.toMatchObject({ progress });
      await expect(operationRow(done.id)).resolves.toMatchObject({ progress: null });
    });
  });

  describe('images.loaded', () => {
    const loaded: LoadedImage = {
      references: ['docker.io/library/busybox:latest'],
      digest: 'sha256:abc',
      configDigest: 'sha256:cfg',
      sizeBytes: 1,
      config: {},
      os: 'linux',
      architecture: 'amd64',
    } as LoadedImage;

    it('records the images, names them in the result and removes the upload once committed', async () => {
      const op = await seedOperation(db, team, host, 'image.load', 'image', 'upload_1');
      uploads.remove.mockImplementation(async () => expect(tx.inTransaction).toBe(false));
      await consumer.apply({ kind: 'images.loaded', operationId: op.id, teamId: team.id, hostName: 'node-1', images: [loaded], at });
      expect(images.recordLoaded).toHaveBeenCalledWith(team.id, host.id, [loaded]);
      await expect(operationRow(op.id)).resolves.toMatchObject({ result: { images: [loaded] } });
      expect(uploads.remove).toHaveBeenCalledWith('upload_1');
      expect(published()).toEqual([{ type: 'image.updated', id: 'sha256:abc', teamId: team.id }]);
    });

    it('a create that pulled its image names the digest in the container’s spec', async () => {
      const c = await seedContainer(db, team, host, { status: 'pending' });
      const op = await seedOperation(db, team, host, 'container.create', 'container', c.id);
      await consumer.apply({ kind: 'images.loaded', operationId: op.id, teamId: team.id, hostName: 'node-1', images: [loaded], at });
      await expect(containerRow(c.id)).resolves.toMatchObject({ spec: { image: c.spec.image, imageDigest: 'sha256:abc' } });
      expect(uploads.remove).not.toHaveBeenCalled();
    });

    it('ignores images of an unknown operation', async () => {
      await consumer.apply({ kind: 'images.loaded', operationId: 'op_gone', teamId: team.id, hostName: 'node-1', images: [loaded], at });
      expect(images.recordLoaded).not.toHaveBeenCalled();
      expect(events.publish).not.toHaveBeenCalled();
    });
  });
});

async function seedOperation(
  db: DataSource,
  team: Team,
  host: Host,
  kind: OperationKind,
  targetKind: TargetKind,
  targetId: string,
  status: Operation['status'] = 'queued',
): Promise<Operation> {
  const op = Object.assign(new Operation(), {
    id: newId('operation'),
    teamId: team.id,
    kind,
    targetKind,
    targetId,
    hostId: host.id,
    status,
    error: null,
    job: jobFor(JobName.ContainerSignal, host.name, { operationId: 'op_1', teamId: team.id, containerId: 'ctr_1', signal: 'SIGTERM' }),
    result: null,
    progress: null,
    createdAt: new Date(),
    enqueuedAt: null,
    startedAt: null,
    finishedAt: null,
  } satisfies Operation);
  await db.getRepository(Operation).insert(op as never);
  return op;
}
