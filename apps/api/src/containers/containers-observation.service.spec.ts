import { DataSource } from 'typeorm';
import { Container, FailedPreconditionError, Host, LogLine, NotFoundError, Team } from '@berth/domain';
import { EventBus } from '../events/event-bus.service';
import { HostsService } from '../hosts/hosts.service';
import { WorkerRpc } from '../rpc/worker-rpc.service';
import { strictMock } from '../testing/strict-mock';
import { createTestDatabase, seedHost, seedTeam, seedContainer } from '../testing/test-database';
import { ContainersObservationService } from './containers-observation.service';
import { ContainersRepository } from './containers.repository';

describe('ContainersObservationService (in-memory SQLite)', () => {
  let db: DataSource;
  let team: Team;
  let host: Host;
  let auth: { teamId: string; tokenId: string; admin: boolean };
  let service: ContainersObservationService;
  const hosts = strictMock<HostsService>({ byId: jest.fn() });
  const rpc = strictMock<WorkerRpc>({ call: jest.fn(), logs: jest.fn() });
  const events = strictMock<EventBus>({ waitFor: jest.fn() });

  beforeEach(async () => {
    jest.resetAllMocks();
    let tx;
    ({ db, tx } = await createTestDatabase());
    team = await seedTeam(db, 'a');
    host = await seedHost(db, team, 'h1');
    auth = { teamId: team.id, tokenId: 'tok_1', admin: false };
    hosts.byId.mockResolvedValue(host);
    service = new ContainersObservationService(new ContainersRepository(tx), hosts, rpc, events);
  });
  afterEach(() => db.destroy());

  describe('exec', () => {
    it('runs the process through the container’s worker, 60 s by default, waiting 15 s more for the answer', async () => {
      const c = await seedContainer(db, team, host);
      rpc.call.mockResolvedValue({ exitCode: 0, stdout: 'hi\n', stderr: '', truncated: false });
      await expect(service.exec(auth, c.name, { cmd: ['echo', 'hi'] })).resolves.toMatchObject({ exitCode: 0, stdout: 'hi\n' });
      expect(rpc.call).toHaveBeenCalledWith('h1', { method: 'exec', containerId: c.id, params: { cmd: ['echo', 'hi'], timeoutSec: 60 } }, 75_000);
      await service.exec(auth, c.id, { cmd: ['true'], timeoutSec: 5 });
      expect(rpc.call).toHaveBeenLastCalledWith('h1', expect.objectContaining({ params: { cmd: ['true'], timeoutSec: 5 } }), 20_000);
    });

    it('refuses a container that is not running, and one the team does not have', async () => {
      const c = await seedContainer(db, team, host, { status: 'exited' });
      await expect(service.exec(auth, c.id, { cmd: ['true'] })).rejects.toBeInstanceOf(FailedPreconditionError);
      await expect(service.exec(auth, 'nope', { cmd: ['true'] })).rejects.toBeInstanceOf(NotFoundError);
      expect(rpc.call).not.toHaveBeenCalled();
    });
  });

  describe('console', () => {
    it('answers the host and container a console opens on, for a container that could exec', async () => {
      const c = await seedContainer(db, team, host);
      await expect(service.console(auth, c.name)).resolves.toEqual({ hostName: 'h1', containerId: c.id });
      const paused = await seedContainer(db, team, host, { status: 'paused' });
      await expect(service.console(auth, paused.id)).rejects.toBeInstanceOf(FailedPreconditionError);
    });
  });

  describe('stats and top', () => {
    it('ask the worker about a running or paused container', async () => {
      const c = await seedContainer(db, team, host, { status: 'paused' });
      rpc.call.mockResolvedValueOnce({ read: 'now' }).mockResolvedValueOnce([{ pid: 1 }]);
      await expect(service.stats(auth, c.id)).resolves.toEqual({ read: 'now' });
      expect(rpc.call).toHaveBeenCalledWith('h1', { method: 'stats', containerId: c.id }, 15_000);
      await expect(service.top(auth, c.id)).resolves.toEqual([{ pid: 1 }]);
      expect(rpc.call).toHaveBeenLastCalledWith('h1', { method: 'top', containerId: c.id }, 15_000);
    });

    it('refuse a container that is not running (ContainerNotRunning)', async () => {
      const c = await seedContainer(db, team, host, { status: 'exited' });
      await expect(service.stats(auth, c.id)).rejects.toMatchObject({ reason: 'ContainerNotRunning' });
      await expect(service.top(auth, c.id)).rejects.toMatchObject({ reason: 'ContainerNotRunning' });
    });
  });

  describe('logs', () => {
    it('opens the stream on the container’s host with the query as log parameters', async () => {
      const c = await seedContainer(db, team, host);
      const lines: LogLine[] = [{ stream: 'stdout', time: '2026-01-01T00:00:00.000Z', line: 'hi' }];
      rpc.logs.mockImplementation(async function* () {
        yield lines;
      });
      const signal = new AbortController().signal;
      const stream = await service.logs(auth, c.id, { tail: 5, since: '0', follow: true }, signal);
      await expect(stream.next()).resolves.toEqual({ done: false, value: lines });
      expect(rpc.logs).toHaveBeenCalledWith(
        'h1',
        c.id,
        { stdout: true, stderr: true, tail: 5, since: '1970-01-01T00:00:00.000Z', until: undefined, follow: true },
        signal,
      );
    });

    it('a missing container is not found before the times are read', async () => {
      await expect(service.logs(auth, 'nope', { since: 'yesterday' }, new AbortController().signal)).rejects.toBeInstanceOf(NotFoundError);
      const c = await seedContainer(db, team, host);
      await expect(service.logs(auth, c.id, { since: 'yesterday' }, new AbortController().signal)).rejects.toMatchObject({
        violations: [{ field: 'since', message: 'not a time' }],
      });
    });
  });

  describe('wait', () => {
    it('is over at once for a container already gone when waiting for removal', async () => {
      await expect(service.wait(auth, 'gone', 'removed', 5)).resolves.toMatchObject({ done: true, met: true, status: 'removed' });
      expect(events.waitFor).not.toHaveBeenCalled();
    });

    it('a missing container is not found for any other condition', async () => {
      await expect(service.wait(auth, 'gone', 'exited', 5)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('answers as soon as the event bus sees the condition met', async () => {
      const c = await seedContainer(db, team, host);
      events.waitFor.mockImplementation(async (_id, evaluate) => {
        await db.getRepository(Container).update({ id: c.id }, { status: 'exited', exitCode: 3 });
        return evaluate();
      });
      await expect(service.wait(auth, c.name, 'not-running', 5, undefined)).resolves.toMatchObject({ met: true, status: 'exited', exitCode: 3 });
      expect(events.waitFor).toHaveBeenCalledWith(c.id, expect.any(Function), 5000, undefined);
    });

    it('answers the container as it stands, not met, at the timeout', async () => {
      const c = await seedContainer(db, team, host);
      events.waitFor.mockResolvedValue(undefined);
      await expect(service.wait(auth, c.id, 'exited', 1)).resolves.toMatchObject({ met: false, status: 'running', condition: 'exited' });
    });

    it('a container removed during the wait ends a wait for removal as met', async () => {
      const c = await seedContainer(db, team, host);
      events.waitFor.mockImplementation(async (_id, evaluate) => {
        await db.getRepository(Container).delete({ id: c.id });
        return evaluate();
      });
      await expect(service.wait(auth, c.id, 'removed', 5)).resolves.toMatchObject({ done: true, met: true, status: 'removed' });
    });
  });
});
