import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { admin, env, uniqueName } from './support/api-client';
import { E2E_MAIN_WORKER_ENV, e2eEnv, recordWorker } from './support/e2e-env';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../scripts/lib/stack.cjs');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the worker now running (the setup's, or one a test started) and waits until it is gone. */
async function stopWorker(): Promise<void> {
  const pid = e2eEnv().workerPid;
  process.kill(pid, 'SIGTERM');
  await stack.waitUntil('the old worker to exit', async () => !alive(pid), 20000);
}

/** Starts a worker for the same host, notes it for the teardown, and waits for its first heartbeat: the stack as the setup left it. */
async function startWorker(): Promise<void> {
  const since = Date.now();
  const worker = await stack.startWorker({
    env: { REDIS_URL: env.redisUrl, BERTH_DATA_DIR: env.dataDir, BERTH_API_URL: env.url, BERTH_HOST_NAME: env.hostName, ...E2E_MAIN_WORKER_ENV },
    logFile: join(env.logDir, 'worker-restarted.log'),
  });
  recordWorker(worker.child.pid);
  await stack.waitUntil(
    'the new worker’s first heartbeat',
    async () => {
      const host = (await admin.get(`/v1/hosts/${env.hostName}`).expect(200)).body;
      return host.status === 'ready' && Date.parse(host.lastHeartbeatAt) >= since;
    },
    60000,
    worker.child,
  );
}

/**
 * Containers belong to conmon, not to the worker: they keep running while the
 * worker is down, work accepted meanwhile waits in the host's queue, and the new
 * worker's inventory corrects what changed while nobody watched.
 */
describe('a worker restart', () => {
  it('keeps containers running, catches up on queued work, reports what changed meanwhile and restarts what must', async () => {
    await admin.loadImage(env.busyboxOciTar);
    const keep = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'] });
    const dies = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'] });
    const always = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'], restartPolicy: { name: 'always' } });
    const before = (await admin.get(`/v1/containers/${keep}`).expect(200)).body;
    expect(before.status).toBe('running');

    await stopWorker();

    // While no worker runs: the container keeps running; one dies behind Berth's back; work is accepted.
    expect(alive(before.pid)).toBe(true);
    for (const id of [dies, always]) execFileSync('runc', ['--root', join(env.dataDir, 'worker', 'runtime', 'runc'), 'kill', id, 'KILL']);
    const stop = await admin.post(`/v1/containers/${keep}/stop?timeout=1`).expect(202);
    expect((await admin.get(`/v1/operations/${stop.body.operation.id}`).expect(200)).body.status).toBe('queued');

    await startWorker();

    expect(await admin.waitContainer(dies, 'exited', 60)).toMatchObject({ met: true, exitCode: 137 });
    expect((await admin.waitOperation(stop.body.operation.id)).status).toBe('succeeded');
    expect(await admin.waitContainer(keep, 'exited', 60)).toMatchObject({ met: true, exitCode: 137 });

    // restart always: the new worker starts it again, and counts the restart.
    let c = (await admin.get(`/v1/containers/${always}`).expect(200)).body;
    for (let i = 0; i < 100 && !(c.status === 'running' && c.restartCount === 1); i++) {
      await new Promise((r) => setTimeout(r, 100));
      c = (await admin.get(`/v1/containers/${always}`).expect(200)).body;
    }
    expect(c).toMatchObject({ status: 'running', restartCount: 1 });
    await admin.delete(`/v1/containers/${always}?force=true`).expect(202);
  });

  it('keeps volume data: what a container wrote before it, a new container reads after it', async () => {
    await admin.loadImage(env.busyboxOciTar);
    const volume = uniqueName('kept');
    const secret = randomBytes(8).toString('hex');
    const writer = await admin.run({
      image: 'busybox',
      cmd: ['sh', '-c', 'echo "$0" > /data/note', secret],
      mounts: [{ type: 'volume', source: volume, target: '/data' }],
    });
    expect(await admin.waitContainer(writer, 'exited')).toMatchObject({ met: true, exitCode: 0 });

    await stopWorker();
    await startWorker();

    const reader = await admin.run({
      image: 'busybox',
      cmd: ['cat', '/data/note'],
      mounts: [{ type: 'volume', source: volume, target: '/data', readOnly: true }],
    });
    expect(await admin.waitContainer(reader, 'exited')).toMatchObject({ met: true, exitCode: 0 });
    expect((await admin.logs(reader)).text).toBe(`${secret}\n`);
    for (const id of [writer, reader]) {
      await admin.delete(`/v1/containers/${id}`).expect(202);
      await admin.waitContainer(id, 'removed');
    }
    await admin.delete(`/v1/volumes/${volume}`).expect(200);
  });
});
