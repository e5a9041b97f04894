import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { ConflictError, Container, FailedPreconditionError, JobName, NotFoundError, Operation, jobFor } from '@berth/domain';
import { newOperation } from '../operations/operations.service';
import { createControllerHarness, TEAM_AUTH } from '../testing/controller-harness';
import { strictMock } from '../testing/strict-mock';
import { ContainerChange } from './container-jobs';
import { ContainersCreateService } from './containers-create.service';
import { ContainersLifecycleService } from './containers-lifecycle.service';
import { ContainersObservationService } from './containers-observation.service';
import { ContainersController } from './containers.controller';
import { ContainersService } from './containers.service';
import { containerOfTeam } from './testing/containers.fixtures';

const container = containerOfTeam({
  spec: { name: 'web', image: 'docker.io/library/busybox:latest', env: [], labels: { app: 'web' } },
  startedAt: new Date('2026-12-01T10:00:01.000Z'),
  updatedAt: new Date('2026-12-01T10:00:01.000Z'),
  version: 2,
});

const operation: Operation = {
  ...newOperation({
    id: 'op_01jd8x6w3q0000000000000000',
    teamId: TEAM_AUTH.teamId,
    kind: 'container.start',
    targetKind: 'container',
    targetId: container.id,
    hostId: container.hostId,
    job: jobFor(JobName.ContainerPause, 'h1', { operationId: 'op_01jd8x6w3q0000000000000000', teamId: TEAM_AUTH.teamId, containerId: container.id }),
  }),
  createdAt: new Date('2026-12-01T10:00:02.000Z'),
};
const change: ContainerChange = { container, operation };

describe('ContainersController', () => {
  let app: INestApplication;
  const containers = strictMock<ContainersService>({ get: jest.fn(), list: jest.fn() });
  const creating = strictMock<ContainersCreateService>({ create: jest.fn() });
  const lifecycle = strictMock<ContainersLifecycleService>({
    start: jest.fn(),
    stop: jest.fn(),
    kill: jest.fn(),
    remove: jest.fn(),
    restart: jest.fn(),
    update: jest.fn(),
    rename: jest.fn(),
    pause: jest.fn(),
    unpause: jest.fn(),
  });
  const observation = strictMock<ContainersObservationService>({ exec: jest.fn(), stats: jest.fn(), top: jest.fn(), wait: jest.fn(), logs: jest.fn() });
  const http = () => request(app.getHttpServer());
  const asTeam = <T extends { set(k: string, v: string): T }>(r: T) => r.set('Authorization', 'Bearer team');

  beforeAll(async () => {
    app = await createControllerHarness({
      controllers: [ContainersController],
      providers: [
        { provide: ContainersService, useValue: containers },
        { provide: ContainersCreateService, useValue: creating },
        { provide: ContainersLifecycleService, useValue: lifecycle },
        { provide: ContainersObservationService, useValue: observation },
      ],
    });
  });
  afterAll(() => app.close());
  beforeEach(() => jest.resetAllMocks());

  const expectAccepted = (res: request.Response) => {
    expect(res.headers.location).toBe(`/v1/operations/${operation.id}`);
    expect(res.body.container).toMatchObject({
      id: container.id,
      name: 'web',
      image: 'docker.io/library/busybox:latest',
      status: 'running',
      labels: { app: 'web' },
    });
    expect(res.body.operation).toMatchObject({ id: operation.id, status: 'queued' });
    expect(res.body.operation).not.toHaveProperty('job');
  };
  const expectProblem = (res: request.Response, status: number, reason?: string) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status, ...(reason ? { reason } : {}) });
  };
  const expectInvalid = (res: request.Response, field: string) => {
    expectProblem(res, 400);
    expect(JSON.stringify(res.body)).toContain(field);
  };

  it('answers 401 without a valid token', async () => {
    expectProblem(await http().get('/v1/containers'), 401);
    expectProblem(await http().post('/v1/containers').set('Authorization', 'Bearer nope').send({ image: 'busybox' }), 401);
  });

  describe('POST /v1/containers', () => {
    it('answers 202 with the container and its operation, Location at the operation', async () => {
      creating.create.mockResolvedValue(change);
      const res = await asTeam(http().post('/v1/containers'))
        .send({ image: 'busybox', name: 'web', labels: { app: 'web' } })
        .expect(202);
      expectAccepted(res);
      expect(creating.create).toHaveBeenCalledWith(TEAM_AUTH, expect.objectContaining({ image: 'busybox', name: 'web' }));
    });

    it('answers 400 naming the field for a body that is not valid, without calling the service', async () => {
      expectInvalid(await asTeam(http().post('/v1/containers')).send({ image: 'busybox', env: ['NOEQUALS'] }), 'env');
      expectInvalid(await asTeam(http().post('/v1/containers')).send({}), 'image');
      expectInvalid(await asTeam(http().post('/v1/containers')).send({ image: 'busybox', ports: [{ hostPort: 0, containerPort: 80 }] }), 'hostPort');
      expect(creating.create).not.toHaveBeenCalled();
    });

    it('answers 409 problem+json when the name is taken', async () => {
      creating.create.mockRejectedValue(new ConflictError('a container named "web" already exists', 'ContainerNameInUse'));
      expectProblem(await asTeam(http().post('/v1/containers')).send({ image: 'busybox', name: 'web' }), 409, 'ContainerNameInUse');
    });
  });

  describe('GET /v1/containers', () => {
    it('answers a page of containers', async () => {
      containers.list.mockResolvedValue({ items: [container], nextCursor: 'abc' });
      const res = await asTeam(http().get('/v1/containers?state=running&label=app=web&limit=5')).expect(200);
      expect(res.body).toMatchObject({ items: [{ id: container.id, createdAt: '2026-12-01T10:00:00.000Z' }], nextCursor: 'abc' });
      expect(containers.list).toHaveBeenCalledWith(TEAM_AUTH, { state: 'running', label: ['app=web'], limit: 5 });
    });

    it('answers 400 naming the field for a bad limit or state', async () => {
      expectInvalid(await asTeam(http().get('/v1/containers?limit=0')), 'limit');
      expectInvalid(await asTeam(http().get('/v1/containers?state=sleeping')), 'state');
      expect(containers.list).not.toHaveBeenCalled();
    });
  });

  describe('GET /v1/containers/:id', () => {
    it('answers the container', async () => {
      containers.get.mockResolvedValue(container);
      const res = await asTeam(http().get('/v1/containers/web')).expect(200);
      expect(res.body).toMatchObject({ id: container.id, name: 'web', networkMode: 'bridge', restartPolicy: { name: 'no' }, resources: {}, mounts: [] });
      expect(containers.get).toHaveBeenCalledWith(TEAM_AUTH, 'web');
    });

    it('answers 404 problem+json for a container the team does not have', async () => {
      containers.get.mockRejectedValue(new NotFoundError('container x not found', 'ContainerNotFound'));
      expectProblem(await asTeam(http().get('/v1/containers/x')), 404, 'ContainerNotFound');
    });
  });

  describe('the commands answering 202', () => {
    it('POST :id/start', async () => {
      lifecycle.start.mockResolvedValue(change);
      expectAccepted(await asTeam(http().post('/v1/containers/web/start')).expect(202));
      expect(lifecycle.start).toHaveBeenCalledWith(TEAM_AUTH, 'web');
      lifecycle.start.mockRejectedValue(new ConflictError('container is being removed', 'InvalidTransition'));
      expectProblem(await asTeam(http().post('/v1/containers/web/start')), 409);
    });

    it('POST :id/stop with a timeout, 400 for a timeout out of range', async () => {
      lifecycle.stop.mockResolvedValue(change);
      expectAccepted(await asTeam(http().post('/v1/containers/web/stop?timeout=2')).expect(202));
      expect(lifecycle.stop).toHaveBeenCalledWith(TEAM_AUTH, 'web', 2);
      expectInvalid(await asTeam(http().post('/v1/containers/web/stop?timeout=9999')), 'timeout');
    });

    it('POST :id/kill sends SIGKILL by default, 400 for a signal that is not one', async () => {
      lifecycle.kill.mockResolvedValue(change);
      expectAccepted(await asTeam(http().post('/v1/containers/web/kill')).expect(202));
      expect(lifecycle.kill).toHaveBeenCalledWith(TEAM_AUTH, 'web', 'SIGKILL');
      await asTeam(http().post('/v1/containers/web/kill?signal=USR1')).expect(202);
      expect(lifecycle.kill).toHaveBeenLastCalledWith(TEAM_AUTH, 'web', 'USR1');
      expectInvalid(await asTeam(http().post('/v1/containers/web/kill?signal=bad%20one')), 'signal');
    });

    it('DELETE :id, force from the query, 400 for a force that is not a boolean', async () => {
      lifecycle.remove.mockResolvedValue(change);
      expectAccepted(await asTeam(http().delete('/v1/containers/web')).expect(202));
      expect(lifecycle.remove).toHaveBeenCalledWith(TEAM_AUTH, 'web', false);
      await asTeam(http().delete('/v1/containers/web?force=true')).expect(202);
      expect(lifecycle.remove).toHaveBeenLastCalledWith(TEAM_AUTH, 'web', true);
      expectInvalid(await asTeam(http().delete('/v1/containers/web?force=maybe')), 'force');
    });

    it('POST :id/restart', async () => {
      lifecycle.restart.mockResolvedValue(change);
      expectAccepted(await asTeam(http().post('/v1/containers/web/restart?timeout=1')).expect(202));
      expect(lifecycle.restart).toHaveBeenCalledWith(TEAM_AUTH, 'web', 1);
      lifecycle.restart.mockRejectedValue(new NotFoundError('container web not found', 'ContainerNotFound'));
      expectProblem(await asTeam(http().post('/v1/containers/web/restart')), 404, 'ContainerNotFound');
    });

    it('POST :id/update with new limits, 400 naming a limit out of range', async () => {
      lifecycle.update.mockResolvedValue(change);
      expectAccepted(
        await asTeam(http().post('/v1/containers/web/update'))
          .send({ resources: { pidsLimit: 30 } })
          .expect(202),
      );
      expect(lifecycle.update).toHaveBeenCalledWith(TEAM_AUTH, 'web', { pidsLimit: 30 });
      expectInvalid(await asTeam(http().post('/v1/containers/web/update')).send({ resources: { memoryBytes: 10 } }), 'memoryBytes');
    });

    it('POST :id/pause and :id/unpause', async () => {
      lifecycle.pause.mockResolvedValue(change);
      lifecycle.unpause.mockResolvedValue(change);
      expectAccepted(await asTeam(http().post('/v1/containers/web/pause')).expect(202));
      expectAccepted(await asTeam(http().post('/v1/containers/web/unpause')).expect(202));
      expect(lifecycle.pause).toHaveBeenCalledWith(TEAM_AUTH, 'web');
      expect(lifecycle.unpause).toHaveBeenCalledWith(TEAM_AUTH, 'web');
      lifecycle.pause.mockRejectedValue(new FailedPreconditionError('container is paused', 'InvalidTransition'));
      expectProblem(await asTeam(http().post('/v1/containers/web/pause')), 409);
      lifecycle.unpause.mockRejectedValue(new NotFoundError('container web not found', 'ContainerNotFound'));
      expectProblem(await asTeam(http().post('/v1/containers/web/unpause')), 404);
    });
  });

  describe('POST /v1/containers/:id/rename', () => {
    it('answers 200 with the renamed container', async () => {
      lifecycle.rename.mockResolvedValue({ ...container, name: 'web-2' } as Container);
      const res = await asTeam(http().post('/v1/containers/web/rename')).send({ name: 'web-2' }).expect(200);
      expect(res.body).toMatchObject({ id: container.id, name: 'web-2' });
      expect(lifecycle.rename).toHaveBeenCalledWith(TEAM_AUTH, 'web', 'web-2');
    });

    it('answers 400 naming the field for a bad name, 409 for a name in use', async () => {
      expectInvalid(await asTeam(http().post('/v1/containers/web/rename')).send({ name: 'bad name' }), 'name');
      lifecycle.rename.mockRejectedValue(new ConflictError('a container named "b" already exists', 'ContainerNameInUse'));
      expectProblem(await asTeam(http().post('/v1/containers/web/rename')).send({ name: 'b' }), 409, 'ContainerNameInUse');
    });
  });

  describe('POST /v1/containers/:id/exec', () => {
    it('answers 200 with the exit code and output', async () => {
      observation.exec.mockResolvedValue({ exitCode: 0, stdout: 'hi\n', stderr: '', truncated: false });
      const res = await asTeam(http().post('/v1/containers/web/exec'))
        .send({ cmd: ['echo', 'hi'] })
        .expect(200);
      expect(res.body).toEqual({ exitCode: 0, stdout: 'hi\n', stderr: '', truncated: false });
      expect(observation.exec).toHaveBeenCalledWith(TEAM_AUTH, 'web', { cmd: ['echo', 'hi'] });
    });

    it('answers 400 for a cmd that is not a list, 409 for a container that is not running', async () => {
      expectInvalid(await asTeam(http().post('/v1/containers/web/exec')).send({ cmd: 'ls' }), 'cmd');
      observation.exec.mockRejectedValue(new ConflictError('container is exited', 'InvalidTransition'));
      expectProblem(await asTeam(http().post('/v1/containers/web/exec')).send({ cmd: ['true'] }), 409);
    });
  });

  describe('GET /v1/containers/:id/stats', () => {
    const sample = {
      read: '2026-12-01T10:00:00.000Z',
      cpu: { usageNanos: 1, onlineCpus: 2 },
      memory: { usageBytes: 3 },
      pids: { current: 1 },
      blockIo: { readBytes: 0, writeBytes: 0 },
    };

    it('answers one sample', async () => {
      observation.stats.mockResolvedValue(sample);
      const res = await asTeam(http().get('/v1/containers/web/stats')).expect(200);
      expect(res.body).toEqual(sample);
      expect(observation.stats).toHaveBeenCalledWith(TEAM_AUTH, 'web');
    });

    it('streams ndjson samples with CPU percent until a sample fails', async () => {
      observation.stats
        .mockResolvedValueOnce(sample)
        .mockResolvedValueOnce({ ...sample, cpu: { usageNanos: 500_000_001, systemNanos: 0, onlineCpus: 2 } })
        .mockRejectedValue(new FailedPreconditionError('stopped', 'ContainerNotRunning'));
      const res = await asTeam(http().get('/v1/containers/web/stats?stream=true')).expect(200);
      expect(res.headers['content-type']).toMatch(/application\/x-ndjson/);
      const lines = res.text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toEqual(sample);
    }, 10_000);

    it('answers 409 for a container that is not running, 400 for a stream flag that is not a boolean', async () => {
      observation.stats.mockRejectedValue(new FailedPreconditionError('container is not running', 'ContainerNotRunning'));
      expectProblem(await asTeam(http().get('/v1/containers/web/stats')), 409, 'ContainerNotRunning');
      expectInvalid(await asTeam(http().get('/v1/containers/web/stats?stream=perhaps')), 'stream');
    });
  });

  describe('GET /v1/containers/:id/top', () => {
    it('answers the processes, 409 when not running', async () => {
      const processes = [{ pid: 1, ppid: 0, user: 'root', state: 'S', command: 'sleep', args: ['sleep', '1000'] }];
      observation.top.mockResolvedValue(processes);
      await expect(asTeam(http().get('/v1/containers/web/top')).expect(200)).resolves.toMatchObject({ body: { processes } });
      observation.top.mockRejectedValue(new FailedPreconditionError('container is not running', 'ContainerNotRunning'));
      expectProblem(await asTeam(http().get('/v1/containers/web/top')), 409, 'ContainerNotRunning');
    });
  });

  describe('GET /v1/containers/:id/wait', () => {
    it('answers the outcome, not-running and 60 s by default', async () => {
      observation.wait.mockResolvedValue({ done: true, met: true, condition: 'not-running', status: 'exited', exitCode: 0, error: null });
      const res = await asTeam(http().get('/v1/containers/web/wait')).expect(200);
      expect(res.body).toEqual({ condition: 'not-running', met: true, status: 'exited', exitCode: 0, error: null });
      expect(observation.wait).toHaveBeenCalledWith(TEAM_AUTH, 'web', 'not-running', 60, expect.any(AbortSignal));
    });

    it('answers 400 naming the field for an unknown condition or a timeout out of range, 404 for a missing container', async () => {
      expectInvalid(await asTeam(http().get('/v1/containers/web/wait?condition=asleep')), 'condition');
      expectInvalid(await asTeam(http().get('/v1/containers/web/wait?timeout=301')), 'timeout');
      observation.wait.mockRejectedValue(new NotFoundError('container web not found', 'ContainerNotFound'));
      expectProblem(await asTeam(http().get('/v1/containers/web/wait?condition=exited&timeout=1')), 404, 'ContainerNotFound');
    });
  });

  describe('GET /v1/containers/:id/logs', () => {
    const lines = [
      { stream: 'stdout' as const, time: '2026-12-01T10:00:00.000Z', line: 'one' },
      { stream: 'stderr' as const, time: '2026-12-01T10:00:01.000Z', line: 'two' },
    ];
    const stream = () =>
      (async function* () {
        yield [lines[0]];
        yield [lines[1]];
      })();

    it('answers text lines, with timestamps when asked', async () => {
      observation.logs.mockImplementation(async () => stream());
      const res = await asTeam(http().get('/v1/containers/web/logs?timestamps=true&tail=2')).expect(200);
      expect(res.headers['content-type']).toMatch(/text\/plain/);
      expect(res.text).toBe('2026-12-01T10:00:00.000Z one\n2026-12-01T10:00:01.000Z two\n');
      expect(observation.logs).toHaveBeenCalledWith(TEAM_AUTH, 'web', { timestamps: true, tail: 2 }, expect.any(AbortSignal));
    });

    it('answers ndjson objects with format=ndjson', async () => {
      observation.logs.mockImplementation(async () => stream());
      const res = await asTeam(http().get('/v1/containers/web/logs?format=ndjson')).expect(200);
      expect(res.headers['content-type']).toMatch(/application\/x-ndjson/);
      expect(
        res.text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual(lines);
    });

    it('answers problem+json when the stream fails before the first lines, 400 for an unknown format', async () => {
      observation.logs.mockImplementation(async () =>
        // eslint-disable-next-line require-yield -- a stream that fails before its first line
        (async function* (): AsyncGenerator<typeof lines> {
          throw new NotFoundError('container web not found', 'ContainerNotFound');
        })(),
      );
      expectProblem(await asTeam(http().get('/v1/containers/web/logs')), 404, 'ContainerNotFound');
      expectInvalid(await asTeam(http().get('/v1/containers/web/logs?format=xml')), 'format');
    });
  });
});
