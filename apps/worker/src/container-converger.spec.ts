import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerConvergeJob, NotFoundError, ObservedContainer } from '@berth/domain';
import type { ResolvedImage } from '@berth/runtime';
import { FakeRuntime } from '@berth/runtime/testing';
import { ContainerConverger } from './container-converger';
import { ContainerStateStore } from './container-state-store';
import { HealthMonitor } from './health-monitor';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const image: ResolvedImage = { digest: DIGEST, config: { cmd: ['sh'] }, layerDirs: [] };

describe('ContainerConverger (fake runtime)', () => {
  let dir: string;
  let runtime: FakeRuntime;
  let reports: { id: string; observed: ObservedContainer }[];
  let converger: ContainerConverger;
  let store: { has: jest.Mock; resolve: jest.Mock };

  const job = (over: Partial<ContainerConvergeJob> = {}): ContainerConvergeJob => ({
    operationId: 'op_x',
    teamId: 'team_x',
    containerId: 'ctr_0000000000aaaaaaaaaaaaaaaa',
    generation: 1,
    desired: 'running',
    stopTimeoutSec: 1,
    spec: { name: 'c', image: 'docker.io/library/busybox:latest', imageDigest: DIGEST, cmd: ['sleep', '1000'], env: [], labels: {} },
    ...over,
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'converger-'));
    runtime = new FakeRuntime();
    reports = [];
    store = { has: jest.fn(async (d: string) => d === DIGEST), resolve: jest.fn(async () => image) };
    const states = new ContainerStateStore(join(dir, 'state'));
    await states.init();
    converger = new ContainerConverger(runtime, store, states, { container: async (id, observed) => void reports.push({ id, observed }) }, 'h1');
    runtime.onExit((info) => void converger.reportExit(info));
  });

  afterEach(async () => {
    converger.close();
    for (const c of await runtime.list()) await runtime.remove(c.id, { force: true });
    await rm(dir, { recursive: true, force: true });
  });

  it('creates and starts a missing container, reporting each step', async () => {
    await converger.converge(job());
    expect((await runtime.inspect(job().containerId)).status).toBe('running');
    expect(reports.map((r) => r.observed.status)).toEqual(['created', 'running']);
    expect(reports.every((r) => r.observed.generation === 1)).toBe(true);
  });

  it('treats a repeated or older generation as a no-op', async () => {
    await converger.converge(job({ generation: 2 }));
    await runtime.stop(job().containerId, 0);
    await waitFor(() => reports.some((r) => r.observed.status === 'exited')); // the exit itself is reported
    const before = reports.length;
    await converger.converge(job({ generation: 2 }));
    await converger.converge(job({ generation: 1 }));
    expect(reports.length).toBe(before);
    expect((await runtime.inspect(job().containerId)).status).toBe('exited');
  });

  it('stops, starts again and removes as newer generations ask', async () => {
    await converger.converge(job({ generation: 1 }));
    await converger.converge(job({ generation: 2, desired: 'stopped' }));
    expect((await runtime.inspect(job().containerId)).status).toBe('exited');
    await converger.converge(job({ generation: 3, desired: 'running' }));
    expect((await runtime.inspect(job().containerId)).status).toBe('running');
    await converger.converge(job({ generation: 4, desired: 'removed' }));
    await expect(runtime.inspect(job().containerId)).rejects.toBeInstanceOf(NotFoundError);
    expect(reports[reports.length - 1].observed).toEqual({ status: 'removed', generation: 4 });
  });

  it('creates without starting when the desired state is stopped', async () => {
    await converger.converge(job({ desired: 'stopped' }));
    expect((await runtime.inspect(job().containerId)).status).toBe('created');
  });

  it('fails with ImageNotFound, creating nothing, when the image is not on the host', async () => {
    const missing = job({ spec: { ...job().spec, imageDigest: undefined, image: 'docker.io/library/nope:1' } });
    await expect(converger.converge(missing)).rejects.toMatchObject({ reason: 'ImageNotFound' });
    await expect(converger.converge(missing)).rejects.toThrow(/nope:1 is not on host h1/);
    expect(await runtime.list()).toEqual([]);
    expect(store.resolve).not.toHaveBeenCalled();
  });

  it('restarts a running container: stop, then start again', async () => {
    await converger.converge(job());
    const firstStart = (await runtime.inspect(job().containerId)).startedAt;
    await converger.restart({ operationId: 'op_r', teamId: 'team_x', containerId: job().containerId, stopTimeoutSec: 0 });
    const after = await runtime.inspect(job().containerId);
    expect(after.status).toBe('running');
    expect(after.startedAt).not.toBe(firstStart);
    expect(reports.slice(-2).map((r) => r.observed.status)).toEqual(['exited', 'running']);
  });

  it('removes an autoRemove container when it exits, and reports the removal', async () => {
    const auto = job({ spec: { ...job().spec, cmd: ['true'], autoRemove: true } });
    await converger.converge(auto);
    await waitFor(() => reports.some((r) => r.observed.status === 'removed'));
    await expect(runtime.inspect(auto.containerId)).rejects.toBeInstanceOf(NotFoundError);
    expect(reports[reports.length - 1].observed).toEqual({ status: 'removed' });
    expect(reports.map((r) => r.observed.status)).toContain('exited');
  });

  it('keeps a container without autoRemove after it exits', async () => {
    const once = job({ spec: { ...job().spec, cmd: ['true'] } });
    await converger.converge(once);
    await waitFor(async () => (await runtime.inspect(once.containerId)).status === 'exited');
    await new Promise((r) => setTimeout(r, 50));
    expect((await runtime.inspect(once.containerId)).status).toBe('exited');
  });

  it('restarts a failing container on-failure exactly maxRetries times, with a growing restart count', async () => {
    const failing = job({ spec: { ...job().spec, cmd: ['sh', '-c', 'exit 3'], restartPolicy: { name: 'on-failure', maxRetries: 3 } } });
    await converger.converge(failing);
    await waitFor(() => reports.some((r) => r.observed.restartCount === 3 && r.observed.status === 'exited'), 5000);
    await new Promise((r) => setTimeout(r, 1000)); // a fourth restart would come after 800 ms
    const starts = reports.filter((r) => r.observed.status === 'running').map((r) => r.observed.restartCount);
    expect(starts).toEqual([0, 1, 2, 3]);
    expect((await runtime.inspect(failing.containerId)).exitCode).toBe(3);
  });

  it('does not restart a container the user stopped, even with restart always', async () => {
    const always = job({ spec: { ...job().spec, restartPolicy: { name: 'always' } } });
    await converger.converge(always);
    await converger.converge({ ...always, generation: 2, desired: 'stopped', stopTimeoutSec: 0 });
    await new Promise((r) => setTimeout(r, 400));
    expect((await runtime.inspect(always.containerId)).status).toBe('exited');
    expect(reports.filter((r) => r.observed.status === 'running')).toHaveLength(1);
  });

  it('does not restart after a kill with SIGKILL until the next start, but does after a signal the process may handle', async () => {
    // Exits 3 on USR1 (a signal it handles), so only the policy can bring it back.
    const cmd = ['sh', '-c', 'trap "exit 3" USR1; sleep 1000 & wait'];
    const always = job({ spec: { ...job().spec, cmd, restartPolicy: { name: 'always' } } });
    await converger.converge(always);
    await converger.signal({ operationId: 'op_k', teamId: 'team_x', containerId: always.containerId, signal: 'SIGKILL' });
    await new Promise((r) => setTimeout(r, 400));
    expect((await runtime.inspect(always.containerId)).status).toBe('exited');
    await converger.converge({ ...always, generation: 2 }); // the user starts it again: the policy is back
    await converger.signal({ operationId: 'op_k2', teamId: 'team_x', containerId: always.containerId, signal: 'SIGUSR1' });
    await waitFor(() => reports.some((r) => r.observed.restartCount === 1 && r.observed.status === 'running'), 3000);
  });

  it('restarts an always container that exited while the worker was away', async () => {
    const always = job({ spec: { ...job().spec, cmd: ['true'], restartPolicy: { name: 'always' } } });
    const quiet = new FakeRuntime();
    const states = new ContainerStateStore(join(dir, 'away'));
    await states.init();
    const away = new ContainerConverger(quiet, store, states, { container: async (id, observed) => void reports.push({ id, observed }) }, 'h1');
    await away.converge({ ...always, spec: { ...always.spec, cmd: ['sleep', '1000'] } });
    await quiet.kill(always.containerId, 'KILL'); // nobody is subscribed to exits: as if the worker were down
    await waitFor(async () => (await quiet.inspect(always.containerId)).status === 'exited');
    await away.resume();
    await waitFor(async () => (await quiet.inspect(always.containerId)).status === 'running', 3000);
    away.close();
    await quiet.remove(always.containerId, { force: true });
  });

  it('runs the health check after a start: healthy on success, unhealthy after `retries` failures', async () => {
    const states = new ContainerStateStore(join(dir, 'health'));
    await states.init();
    const sink = { container: async (id: string, observed: ObservedContainer) => void reports.push({ id, observed }) };
    const monitor = new HealthMonitor(runtime, sink.container);
    const checked = new ContainerConverger(runtime, store, states, sink, 'h1', undefined, monitor);
    const healthcheck = { intervalMs: 20, timeoutMs: 1000, retries: 2, startPeriodMs: 0 };
    const good = job({ containerId: 'ctr_0000000000bbbbbbbbbbbbbbbb', spec: { ...job().spec, healthcheck: { ...healthcheck, cmd: ['true'] } } });
    const bad = job({ containerId: 'ctr_0000000000cccccccccccccccc', spec: { ...job().spec, healthcheck: { ...healthcheck, cmd: ['false'] } } });
    await checked.converge(good);
    await checked.converge(bad);
    const healthOf = (id: string) => reports.filter((r) => r.id === id && r.observed.health).map((r) => r.observed.health!.status);
    await waitFor(() => healthOf(good.containerId).includes('healthy') && healthOf(bad.containerId).includes('unhealthy'));
    expect(healthOf(good.containerId)[0]).toBe('starting');
    expect(healthOf(bad.containerId)).toEqual(['starting', 'starting', 'unhealthy']);
    monitor.close();
  });

  it('runs jobs for one container one at a time, in order', async () => {
    const a = converger.converge(job({ generation: 1 }));
    const b = converger.converge(job({ generation: 2, desired: 'removed' }));
    await Promise.all([a, b]);
    expect(reports.map((r) => r.observed.status)).toEqual(['created', 'running', 'removed']);
  });
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
