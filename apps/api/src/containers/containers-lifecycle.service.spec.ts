import { DataSource } from 'typeorm';
import { ConflictError, Container, ContainerNetwork, FailedPreconditionError, Host, JobName, NotFoundError, Team } from '@berth/domain';
import { Transactions } from '../database/transactions';
import { EventBus } from '../events/event-bus.service';
import { HostsService } from '../hosts/hosts.service';
import { NetworksService } from '../networks/networks.service';
import { JobProducer } from '../operations/job-producer.service';
import { OperationsService, newOperation } from '../operations/operations.service';
import { strictMock } from '../testing/strict-mock';
import { createTestDatabase, seedHost, seedTeam, seedContainer } from '../testing/test-database';
import { ContainerJobs } from './container-jobs';
import { ContainersLifecycleService } from './containers-lifecycle.service';
import { ContainersRepository } from './containers.repository';

const backend: ContainerNetwork = {
  networkId: 'net_01jd8x6w3q0000000000000001',
  name: 'backend',
  bridge: 'br-1',
  subnet: '10.20.0.0/24',
  gateway: '10.20.0.1',
  internal: false,
  ipAddress: '10.20.0.2',
  aliases: [],
};
const frontend: ContainerNetwork = { ...backend, networkId: 'net_01jd8x6w3q0000000000000002', name: 'frontend', ipAddress: '10.30.0.2' };

describe('ContainersLifecycleService (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let team: Team;
  let other: Team;
  let host: Host;
  let auth: { teamId: string; tokenId: string; admin: boolean };
  let service: ContainersLifecycleService;
  const hosts = strictMock<HostsService>({ byId: jest.fn() });
  const operations = strictMock<OperationsService>({ insert: jest.fn() });
  const producer = strictMock<JobProducer>({ enqueue: jest.fn() });
  const networks = strictMock<NetworksService>({ allocate: jest.fn(), releaseOne: jest.fn(), touch: jest.fn(), networksOf: jest.fn(), flushSyncs: jest.fn() });
  const events = strictMock<EventBus>({ publish: jest.fn() });

  beforeEach(async () => {
    jest.resetAllMocks();
    ({ db, tx } = await createTestDatabase());
    [team, other] = [await seedTeam(db, 'a'), await seedTeam(db, 'b')];
    host = await seedHost(db, team, 'h1');
    auth = { teamId: team.id, tokenId: 'tok_1', admin: false };
    hosts.byId.mockResolvedValue(host);
    operations.insert.mockImplementation(async (input) => newOperation(input));
    producer.enqueue.mockResolvedValue(true);
    networks.flushSyncs.mockResolvedValue(0);
    events.publish.mockResolvedValue(undefined);
    service = new ContainersLifecycleService(tx, new ContainersRepository(tx), new ContainerJobs(hosts, operations, producer), networks, events);
  });
  afterEach(() => db.destroy());

  const stored = (id: string) => db.getRepository(Container).findOneByOrFail({ id });

  describe('changes of desired state (start, stop, remove)', () => {
    it('stop bumps the generation, records the desired state and writes a converge operation, enqueued after the commit', async () => {
      const c = await seedContainer(db, team, host);
      const change = await service.stop(auth, c.name, 3);
      expect(change.container).toMatchObject({ id: c.id, desiredState: 'stopped', generation: 2, version: c.version + 1 });
      await expect(stored(c.id)).resolves.toMatchObject({ desiredState: 'stopped', generation: 2 });
      expect(change.operation).toMatchObject({ kind: 'container.stop', targetId: c.id, hostId: host.id, teamId: team.id });
      expect(change.operation.job).toMatchObject({
        name: JobName.ContainerConverge,
        payload: { containerId: c.id, generation: 2, desired: 'stopped', stopTimeoutSec: 3, teamId: team.id, operationId: change.operation.id },
      });
      expect(producer.enqueue).toHaveBeenCalledWith(change.operation);
      expect(events.publish).toHaveBeenCalledWith({ type: 'container.updated', id: c.id, teamId: team.id });
    });

    it('start of an exited container asks for running, with the default grace period', async () => {
      const c = await seedContainer(db, team, host, { status: 'exited', desiredState: 'stopped' });
      const change = await service.start(auth, c.id);
      expect(change.container).toMatchObject({ desiredState: 'running', generation: 2 });
      expect(change.operation.job.payload).toMatchObject({ desired: 'running', stopTimeoutSec: 10 });
    });

    it('remove of a running container is refused without force (409) and nothing changes', async () => {
      const c = await seedContainer(db, team, host);
      await expect(service.remove(auth, c.id, false)).rejects.toBeInstanceOf(ConflictError);
      await expect(stored(c.id)).resolves.toMatchObject({ desiredState: 'running', generation: 1, version: c.version });
      expect(operations.insert).not.toHaveBeenCalled();
      expect(producer.enqueue).not.toHaveBeenCalled();
    });

    it('remove with force marks the container removing, with no grace period', async () => {
      const c = await seedContainer(db, team, host);
      const change = await service.remove(auth, c.id, true);
      expect(change.container).toMatchObject({ desiredState: 'removed', status: 'removing' });
      expect(change.operation).toMatchObject({ kind: 'container.delete' });
      expect(change.operation.job.payload).toMatchObject({ desired: 'removed', stopTimeoutSec: 0 });
    });

    it('another team’s container is not found, and nothing is written', async () => {
      const c = await seedContainer(db, other, await seedHost(db, other, 'h2'));
      await expect(service.start({ ...auth }, c.id)).rejects.toBeInstanceOf(NotFoundError);
      expect(operations.insert).not.toHaveBeenCalled();
    });

    it('a failure writing the operation rolls the change back', async () => {
      const c = await seedContainer(db, team, host, { status: 'exited', desiredState: 'stopped' });
      operations.insert.mockRejectedValue(new Error('disk full'));
      await expect(service.start(auth, c.id)).rejects.toThrow('disk full');
      await expect(stored(c.id)).resolves.toMatchObject({ desiredState: 'stopped', generation: 1 });
      expect(producer.enqueue).not.toHaveBeenCalled();
    });
  });

  describe('actions without a new generation (kill, restart, pause, unpause, update)', () => {
    it('kill sends the signal as it is', async () => {
      const c = await seedContainer(db, team, host);
      const change = await service.kill(auth, c.id, 'SIGTERM');
      expect(change.container).toMatchObject({ generation: 1, version: c.version });
      expect(change.operation).toMatchObject({ kind: 'container.kill' });
      expect(change.operation.job).toMatchObject({
        name: JobName.ContainerSignal,
        queue: expect.stringContaining('h1'),
        payload: { signal: 'SIGTERM', containerId: c.id },
      });
      expect(producer.enqueue).toHaveBeenCalledWith(change.operation);
      expect(events.publish).not.toHaveBeenCalled();
    });

    it('kill of a container that is not running is refused (FailedPrecondition)', async () => {
      const c = await seedContainer(db, team, host, { status: 'exited' });
      await expect(service.kill(auth, c.id, 'SIGKILL')).rejects.toBeInstanceOf(FailedPreconditionError);
    });

    it('restart carries the grace period (10 s by default)', async () => {
      const c = await seedContainer(db, team, host);
      await expect(service.restart(auth, c.id, 1)).resolves.toMatchObject({
        operation: { kind: 'container.restart', job: { name: JobName.ContainerRestart, payload: { stopTimeoutSec: 1 } } },
      });
      await expect(service.restart(auth, c.id)).resolves.toMatchObject({ operation: { job: { payload: { stopTimeoutSec: 10 } } } });
    });

    it('pause and unpause', async () => {
      const c = await seedContainer(db, team, host);
      await expect(service.pause(auth, c.id)).resolves.toMatchObject({ operation: { kind: 'container.pause', job: { name: JobName.ContainerPause } } });
      await db.getRepository(Container).update({ id: c.id }, { status: 'paused' });
      await expect(service.pause(auth, c.id)).rejects.toBeInstanceOf(FailedPreconditionError);
      await expect(service.unpause(auth, c.id)).resolves.toMatchObject({ operation: { kind: 'container.unpause', job: { name: JobName.ContainerUnpause } } });
    });

    it('update merges the new limits into the spec and sends them', async () => {
      const c = await seedContainer(db, team, host, {
        spec: { name: 'x', image: 'busybox', env: [], labels: {}, resources: { memoryBytes: 64 << 20, pidsLimit: 10 } },
      });
      const change = await service.update(auth, c.id, { pidsLimit: 30 });
      expect(change.container.spec.resources).toEqual({ memoryBytes: 64 << 20, pidsLimit: 30 });
      expect(change.container).toMatchObject({ generation: 1, version: c.version + 1 });
      await expect(stored(c.id)).resolves.toMatchObject({ spec: { resources: { memoryBytes: 64 << 20, pidsLimit: 30 } } });
      expect(change.operation.job).toMatchObject({ name: JobName.ContainerUpdate, payload: { resources: { pidsLimit: 30 } } });
    });

    it('a change made meanwhile fails the update with ConcurrentChange, and the operation is not written', async () => {
      const c = await seedContainer(db, team, host);
      // The row changes between the read and the conditional write (as a report would).
      networks.allocate.mockImplementation(async () => {
        await db.getRepository(Container).increment({ id: c.id }, 'version', 1);
        return [backend];
      });
      await expect(service.connect(auth, c.id, { network: 'backend', aliases: [] })).rejects.toMatchObject({ reason: 'ConcurrentChange' });
      expect(operations.insert).not.toHaveBeenCalled();
    });
  });

  describe('networks', () => {
    it('connect gives the container an address on the network and sends its networks to the host', async () => {
      const c = await seedContainer(db, team, host, { spec: { name: 'x', image: 'busybox', env: [], labels: {}, networks: [frontend] } });
      networks.allocate.mockResolvedValue([backend]);
      const change = await service.connect(auth, c.id, { network: 'backend', aliases: ['api'] });
      expect(networks.allocate).toHaveBeenCalledWith(team.id, host.id, c.id, [{ network: 'backend', aliases: ['api'] }]);
      expect(change.container.spec.networks).toEqual([frontend, backend]);
      expect(change.operation.job).toMatchObject({ name: JobName.ContainerNetworks, payload: { networks: [frontend, backend], ports: [] } });
      expect(networks.flushSyncs).toHaveBeenCalled();
    });

    it('connect refuses a container outside bridge mode, and one already on the network', async () => {
      const none = await seedContainer(db, team, host, { spec: { name: 'x', image: 'busybox', env: [], labels: {}, networkMode: 'none' } });
      await expect(service.connect(auth, none.id, { network: 'backend', aliases: [] })).rejects.toMatchObject({ reason: 'NotBridged' });
      const on = await seedContainer(db, team, host, { spec: { name: 'y', image: 'busybox', env: [], labels: {}, networks: [backend] } });
      await expect(service.connect(auth, on.id, { network: 'backend', aliases: [] })).rejects.toMatchObject({ reason: 'AlreadyConnected' });
      expect(networks.allocate).not.toHaveBeenCalled();
    });

    it('disconnect frees the address and drops the ports with the last network', async () => {
      const ports = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }];
      const c = await seedContainer(db, team, host, { spec: { name: 'x', image: 'busybox', env: [], labels: {}, networks: [backend], ports } });
      const change = await service.disconnect(auth, c.id, backend.networkId);
      expect(networks.releaseOne).toHaveBeenCalledWith(c.id, backend.networkId);
      expect(change.container.spec.networks).toEqual([]);
      expect(change.container.spec.ports).toBeUndefined();
      expect(change.operation).toMatchObject({ kind: 'container.disconnect', job: { payload: { networks: [], ports: [] } } });
    });

    it('disconnect from a network the container is not on is NotConnected', async () => {
      const c = await seedContainer(db, team, host, { spec: { name: 'x', image: 'busybox', env: [], labels: {}, networks: [backend] } });
      await expect(service.disconnect(auth, c.id, frontend.networkId)).rejects.toMatchObject({ reason: 'NotConnected' });
      expect(networks.releaseOne).not.toHaveBeenCalled();
    });
  });

  describe('rename', () => {
    it('renames the container and its spec, and touches its networks so hosts learn the name', async () => {
      const c = await seedContainer(db, team, host, { name: 'old' });
      networks.networksOf.mockResolvedValue([backend.networkId]);
      const renamed = await service.rename(auth, 'old', 'new');
      expect(renamed).toMatchObject({ id: c.id, name: 'new', spec: { name: 'new' }, version: c.version + 1 });
      await expect(stored(c.id)).resolves.toMatchObject({ name: 'new', spec: { name: 'new' } });
      expect(networks.networksOf).toHaveBeenCalledWith({ containerId: c.id });
      expect(networks.touch).toHaveBeenCalledWith([backend.networkId]);
      expect(networks.flushSyncs).toHaveBeenCalled();
      expect(operations.insert).not.toHaveBeenCalled();
    });

    it('the same name changes nothing', async () => {
      const c = await seedContainer(db, team, host, { name: 'same' });
      await expect(service.rename(auth, c.id, 'same')).resolves.toMatchObject({ version: c.version });
      expect(networks.touch).not.toHaveBeenCalled();
    });

    it('a name the team uses already is ContainerNameInUse; another team’s is free', async () => {
      const c = await seedContainer(db, team, host, { name: 'a' });
      await seedContainer(db, team, host, { name: 'b' });
      await seedContainer(db, other, await seedHost(db, other, 'h2'), { name: 'c' });
      await expect(service.rename(auth, c.id, 'b')).rejects.toMatchObject({ reason: 'ContainerNameInUse' });
      networks.networksOf.mockResolvedValue([]);
      await expect(service.rename(auth, c.id, 'c')).resolves.toMatchObject({ name: 'c' });
    });

    it('a container being removed cannot be renamed', async () => {
      const c = await seedContainer(db, team, host, { status: 'removing', desiredState: 'removed' });
      await expect(service.rename(auth, c.id, 'x')).rejects.toBeInstanceOf(ConflictError);
    });
  });
});
