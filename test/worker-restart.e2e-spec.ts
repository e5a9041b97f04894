import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BerthProblem, deleteContainer, deleteVolume, getContainer, getHost, getOperation, stopContainer } from '@berth/sdk';
import { env, uniqueName } from './support/api-client';
import { E2E_MAIN_WORKER_ENV, e2eEnv, recordWorker } from './support/e2e-env';
import { adminSdk, finished, loadImageTar, logText, runContainer, waitForContainer } from './support/sdk';

const admin = adminSdk();

/** Deletes a container (202). */
async function remove(id: string, force?: boolean) {
  expect((await deleteContainer({ client: admin, path: { id }, query: force ? { force } : undefined })).response.status).toBe(202);
}

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
  // waitUntil swallows what a probe throws: an answer the document does not describe is kept to be told.
  let mismatch: unknown;
  await stack
    .waitUntil(
      'the new worker’s first heartbeat',
      async () => {
        const host = (
          await getHost({ client: admin, path: { id: env.hostName } }).catch((e: unknown) => {
            if (!(e instanceof BerthProblem)) mismatch = e;
            throw e;
          })
        ).data;
        return host.status === 'ready' && Date.parse(host.lastHeartbeatAt) >= since;
      },
      60000,
      worker.child,
    )
    .catch((e: unknown) => {
      throw mismatch ?? e;
    });
}

/**
 * Containers belong to conmon, not to the worker: they keep running while the
 * worker is down, work accepted meanwhile waits in the host's queue, and the new
 * worker's inventory corrects what changed while nobody watched.
 */
describe('a worker restart', () => {
  it('keeps containers running, catches up on queued work, reports what changed meanwhile and restarts what must', async () => {
    await loadImageTar(admin, env.busyboxOciTar);
    const { id: keep } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'] });
    const { id: dies } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'] });
    const { id: always } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'], restartPolicy: { name: 'always' } });
    const before = (await getContainer({ client: admin, path: { id: keep } })).data;
    expect(before.status).toBe('running');

    await stopWorker();

    // While no worker runs: the container keeps running; one dies behind Berth's back; work is accepted.
    expect(alive(before.pid as number)).toBe(true);
    for (const id of [dies, always]) execFileSync('runc', ['--root', join(env.dataDir, 'worker', 'runtime', 'runc'), 'kill', id, 'KILL']);
    const stop = await stopContainer({ client: admin, path: { id: keep }, query: { timeout: 1 } });
    expect(stop.response.status).toBe(202);
    expect((await getOperation({ client: admin, path: { id: stop.data.operation.id } })).data.status).toBe('queued');

    await startWorker();

    expect(await waitForContainer(admin, dies, 'exited', 60)).toMatchObject({ met: true, exitCode: 137 });
    expect((await finished(admin, stop.data.operation.id)).status).toBe('succeeded');
    expect(await waitForContainer(admin, keep, 'exited', 60)).toMatchObject({ met: true, exitCode: 137 });

    // restart always: the new worker starts it again, and counts the restart.
    let c = (await getContainer({ client: admin, path: { id: always } })).data;
    for (let i = 0; i < 100 && !(c.status === 'running' && c.restartCount === 1); i++) {
      await new Promise((r) => setTimeout(r, 100));
      c = (await getContainer({ client: admin, path: { id: always } })).data;
    }
    expect(c).toMatchObject({ status: 'running', restartCount: 1 });
    await remove(always, true);
  });

  it('keeps volume data: what a container wrote before it, a new container reads after it', async () => {
    await loadImageTar(admin, env.busyboxOciTar);
    const volume = uniqueName('kept');
    const secret = randomBytes(8).toString('hex');
    const { id: writer } = await runContainer(admin, {
      image: 'busybox',
      cmd: ['sh', '-c', 'echo "$0" > /data/note', secret],
      mounts: [{ type: 'volume', source: volume, target: '/data' }],
    });
    expect(await waitForContainer(admin, writer, 'exited')).toMatchObject({ met: true, exitCode: 0 });

    await stopWorker();
    await startWorker();

    const { id: reader } = await runContainer(admin, {
      image: 'busybox',
      cmd: ['cat', '/data/note'],
      mounts: [{ type: 'volume', source: volume, target: '/data', readOnly: true }],
    });
    expect(await waitForContainer(admin, reader, 'exited')).toMatchObject({ met: true, exitCode: 0 });
    expect(await logText(admin, reader)).toBe(`${secret}\n`);
    for (const id of [writer, reader]) {
      await remove(id);
      await waitForContainer(admin, id, 'removed');
    }
    expect((await deleteVolume({ client: admin, path: { id: volume } })).response.status).toBe(200);
  });
});
