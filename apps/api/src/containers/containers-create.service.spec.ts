import { DataSource } from 'typeorm';
import { Container, ContainerNetwork, Host, JobName, Operation, PermissionDeniedError, Team, FailedPreconditionError } from '@berth/domain';
import { Transactions } from '../database/transactions';
import { HostsService } from '../hosts/hosts.service';
import { ImagesService } from '../images/images.service';
import { NetworksService } from '../networks/networks.service';
import { JobProducer } from '../operations/job-producer.service';
import { OperationsService, newOperation } from '../operations/operations.service';
import { RegistriesService } from '../registries/registries.service';
import { strictMock } from '../testing/strict-mock';
import { createTestDatabase, seedHost, seedTeam, seedContainer } from '../testing/test-database';
import { VolumesService } from '../volumes/volumes.service';
import { ContainerAttachments } from './container-attachments';
import { CreateContainerDto } from './container-create.dto';
import { ContainerJobs } from './container-jobs';
import { ContainerPlacement } from './container-placement';
import { ContainersCreateService } from './containers-create.service';
import { ContainersRepository } from './containers.repository';

const defaultNetwork: ContainerNetwork = {
  networkId: 'net_01jd8x6w3q0000000000000001',
  name: 'default',
  bridge: 'br-1',
  subnet: '10.20.0.0/24',
  gateway: '10.20.0.1',
  internal: false,
  ipAddress: '10.20.0.2',
  aliases: [],
};

describe('ContainersCreateService (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let team: Team;
  let host: Host;
  let other: Host;
  let auth: { teamId: string; tokenId: string; admin: boolean };
  let service: ContainersCreateService;
  const hosts = strictMock<HostsService>({ byId: jest.fn(), get: jest.fn(), schedule: jest.fn(), assertReady: jest.fn() });
  const volumes = strictMock<VolumesService>({ hostOfVolumes: jest.fn(), settleMounts: jest.fn() });
  const images = strictMock<ImagesService>({ resolveDigest: jest.fn() });
  const registries = strictMock<RegistriesService>({ sealedLoginFor: jest.fn() });
  const networks = strictMock<NetworksService>({ allocate: jest.fn(), assertPortsFree: jest.fn(), flushSyncs: jest.fn() });
  const operations = strictMock<OperationsService>({ insert: jest.fn() });
  const producer = strictMock<JobProducer>({ enqueue: jest.fn() });

  beforeEach(async () => {
    jest.resetAllMocks();
    ({ db, tx } = await createTestDatabase());
    team = await seedTeam(db, 'a');
    [host, other] = [await seedHost(db, team, 'h1'), await seedHost(db, team, 'h2')];
    auth = { teamId: team.id, tokenId: 'tok_1', admin: false };
    hosts.schedule.mockResolvedValue(host);
    hosts.assertReady.mockImplementation((h) => h);
    volumes.hostOfVolumes.mockResolvedValue(undefined);
    images.resolveDigest.mockResolvedValue(undefined);
    registries.sealedLoginFor.mockResolvedValue(undefined);
    networks.allocate.mockResolvedValue([defaultNetwork]);
    networks.assertPortsFree.mockResolvedValue(undefined);
    networks.flushSyncs.mockResolvedValue(0);
    operations.insert.mockImplementation(async (input) => newOperation(input));
    producer.enqueue.mockResolvedValue(true);
    const repository = new ContainersRepository(tx);
    service = new ContainersCreateService(
      tx,
      repository,
      new ContainerPlacement(hosts, volumes, images, registries),
      new ContainerAttachments(volumes, networks),
      new ContainerJobs(hosts, operations, producer),
    );
  });
  afterEach(() => db.destroy());

  const create = (dto: Partial<CreateContainerDto>) => service.create(auth, { image: 'busybox', ...dto } as CreateContainerDto);
  const count = () => db.getRepository(Container).count();

  it('writes a pending container on the scheduled host with its defaults, and the operation that creates it, enqueued after the commit', async () => {
    const change = await create({ name: 'web', env: ['A=1'], labels: { app: 'web' }, healthcheck: { cmd: ['true'] } });
    expect(change.container).toMatchObject({ name: 'web', teamId: team.id, hostId: host.id, status: 'pending', desiredState: 'running', generation: 1 });
    expect(change.container.spec).toMatchObject({
      name: 'web',
      image: 'docker.io/library/busybox:latest',
      env: ['A=1'],
      labels: { app: 'web' },
      networks: [defaultNetwork],
      healthcheck: { cmd: ['true'], intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 },
    });
    await expect(db.getRepository(Container).findOneByOrFail({ id: change.container.id })).resolves.toMatchObject({ name: 'web', status: 'pending' });
    expect(hosts.schedule).toHaveBeenCalledWith(auth, undefined);
    expect(networks.allocate).toHaveBeenCalledWith(team.id, host.id, change.container.id, []);
    expect(change.operation).toMatchObject({ kind: 'container.create', targetId: change.container.id, hostId: host.id });
    expect(change.operation.job).toMatchObject({
      name: JobName.ContainerConverge,
      payload: { generation: 1, desired: 'running', stopTimeoutSec: 10, pull: { policy: 'missing', login: undefined } },
    });
    expect(producer.enqueue).toHaveBeenCalledWith(change.operation);
    expect(networks.flushSyncs).toHaveBeenCalled();
  });

  it('names a container when the request does not, and leaves it stopped with start false', async () => {
    const change = await create({ start: false });
    expect(change.container.name).toMatch(/^berth-[0-9a-f]{8}$/);
    expect(change.container.desiredState).toBe('stopped');
  });

  it('pulls with the team’s registry login sealed for the chosen host, and not at all with pull policy never', async () => {
    const sealed = { v: 1 as const, epk: 'ZXBr', iv: 'aXY=', box: 'Ym94' };
    registries.sealedLoginFor.mockResolvedValue(sealed);
    const pulled = await create({ image: 'registry.example.com/app:1', pullPolicy: 'always' });
    expect(registries.sealedLoginFor).toHaveBeenCalledWith(team.id, 'registry.example.com', expect.objectContaining({ id: pulled.container.hostId }));
    expect(pulled.operation.job.payload).toMatchObject({ pull: { policy: 'always', login: sealed } });
    registries.sealedLoginFor.mockClear();
    const local = await create({ pullPolicy: 'never' });
    expect(local.operation.job.payload).not.toHaveProperty('pull');
    expect(registries.sealedLoginFor).not.toHaveBeenCalled();
  });

  it('places by the team’s image: the scheduler is given the digest the team has for the reference', async () => {
    images.resolveDigest.mockResolvedValue('sha256:abc');
    const change = await create({ image: 'busybox:1.36' });
    expect(images.resolveDigest).toHaveBeenCalledWith(auth, 'docker.io/library/busybox:1.36');
    expect(hosts.schedule).toHaveBeenCalledWith(auth, 'sha256:abc');
    expect(change.container.spec.imageDigest).toBe('sha256:abc');
  });

  it('a reference pinned by digest keeps its digest, as the images feature resolves it', async () => {
    const digest = 'sha256:' + 'a'.repeat(64);
    images.resolveDigest.mockResolvedValue(digest);
    const change = await create({ image: `busybox@${digest}` });
    expect(images.resolveDigest).toHaveBeenCalledWith(auth, `docker.io/library/busybox@${digest}`);
    expect(change.container.spec.imageDigest).toBe(digest);
  });

  it('goes where its volumes live, and settles its mounts there', async () => {
    volumes.hostOfVolumes.mockResolvedValue(other.id);
    hosts.byId.mockResolvedValue(other);
    volumes.settleMounts.mockImplementation(async (_auth, mounts) => mounts.map((m) => ({ ...m, volumeId: 'vol_1' })));
    const change = await create({ mounts: [{ type: 'volume', source: 'data', target: '/data' }] });
    expect(hosts.assertReady).toHaveBeenCalledWith(other, "where the container's volumes live");
    expect(change.container.hostId).toBe(other.id);
    expect(volumes.settleMounts).toHaveBeenCalledWith(auth, [expect.objectContaining({ source: 'data', target: '/data' })], other.id);
    expect(change.container.spec.mounts).toEqual([expect.objectContaining({ source: 'data', volumeId: 'vol_1' })]);
  });

  it('refuses a host asked for that is not the one its volumes live on (HostConflict)', async () => {
    volumes.hostOfVolumes.mockResolvedValue(other.id);
    hosts.get.mockResolvedValue(host);
    await expect(create({ host: 'h1', mounts: [{ type: 'volume', source: 'data', target: '/data' }] })).rejects.toMatchObject({ reason: 'HostConflict' });
    await expect(create({ host: 'h1', mounts: [{ type: 'volume', source: 'data', target: '/data' }] })).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(count()).resolves.toBe(0);
  });

  it('runs on the host asked for when it is ready', async () => {
    hosts.get.mockResolvedValue(other);
    const change = await create({ host: 'h2' });
    expect(hosts.get).toHaveBeenCalledWith(auth, 'h2');
    expect(change.container.hostId).toBe(other.id);
  });

  it('publishes ports after checking them free on the host', async () => {
    const change = await create({ ports: [{ hostPort: 8080, containerPort: 80 }] });
    const ports = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }];
    expect(networks.assertPortsFree).toHaveBeenCalledWith(team.id, host.id, ports);
    expect(change.container.spec.ports).toEqual(ports);
  });

  it('without bridge mode, no addresses and no port checks', async () => {
    const change = await create({ networkMode: 'none' });
    expect(networks.allocate).not.toHaveBeenCalled();
    expect(networks.assertPortsFree).not.toHaveBeenCalled();
    expect(change.container.spec).not.toHaveProperty('networks');
  });

  it('refuses the host’s network and privileged containers unless the team’s policy allows them, writing nothing', async () => {
    await expect(create({ networkMode: 'host' })).rejects.toMatchObject({ reason: 'HostNetworkNotAllowed' });
    await expect(create({ security: { privileged: true } })).rejects.toBeInstanceOf(PermissionDeniedError);
    await db
      .getRepository(Team)
      .update({ id: team.id }, { policy: { allowPrivileged: true, allowedCapabilities: [], allowedBindPaths: [], allowHostNetwork: true } });
    await expect(create({ networkMode: 'host', security: { privileged: true } })).resolves.toMatchObject({ container: { spec: { networkMode: 'host' } } });
    await expect(count()).resolves.toBe(1);
  });

  it('refuses options that cannot go together before placing the container', async () => {
    await expect(create({ networkMode: 'none', networks: ['backend'] })).rejects.toMatchObject({ reason: 'ConflictingOptions' });
    await expect(create({ autoRemove: true, restartPolicy: { name: 'always' } })).rejects.toMatchObject({
      violations: [expect.objectContaining({ field: 'restartPolicy' })],
    });
    expect(hosts.schedule).not.toHaveBeenCalled();
  });

  it('a name the team uses already is ContainerNameInUse, and no address is taken', async () => {
    await seedContainer(db, team, host, { name: 'web' });
    await expect(create({ name: 'web' })).rejects.toMatchObject({ reason: 'ContainerNameInUse' });
    expect(networks.allocate).not.toHaveBeenCalled();
    expect(producer.enqueue).not.toHaveBeenCalled();
  });

  it('a failure inside the transaction leaves no container and enqueues nothing', async () => {
    operations.insert.mockRejectedValue(new Error('disk full'));
    await expect(create({ name: 'web' })).rejects.toThrow('disk full');
    await expect(count()).resolves.toBe(0);
    expect(producer.enqueue).not.toHaveBeenCalled();
  });

  it('the operation written is the one enqueued', async () => {
    let written: Operation | undefined;
    operations.insert.mockImplementation(async (input) => (written = newOperation(input)));
    const change = await create({});
    expect(producer.enqueue).toHaveBeenCalledWith(written);
    expect(change.operation).toBe(written);
  });
});
