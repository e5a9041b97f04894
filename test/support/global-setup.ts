import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_MAIN_WORKER_ENV, E2E_STATE_FILE, E2eEnv } from './e2e-env';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../scripts/lib/stack.cjs');

/**
 * Starts the real stack once for all e2e tests: Redis, the API and a worker running
 * runc. Its networks do not span hosts (no overlay address): the tests that need
 * several hosts start their own workers, each in a network namespace of its own.
 */
export default async function globalSetup(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the e2e tests run real containers and need root');
  const root = join(__dirname, '..', '..');
  const dataDir = mkdtempSync('/var/tmp/berth-e2e-');
  const logDir = join(root, 'dist', 'e2e-logs');
  mkdirSync(logDir, { recursive: true });
  const adminToken = `berth_e2e_${randomBytes(16).toString('hex')}`;
  const hostName = `e2e-${randomBytes(3).toString('hex')}`;
  const port = await stack.freePort();
  const running = await stack.startStack({ dataDir, port, adminToken, hostName, logDir, env: { LOG_LEVEL: 'info', ...E2E_MAIN_WORKER_ENV } });
  (globalThis as Record<string, unknown>).__berthStack = running;
  await stack.waitForHost(running.api.url, adminToken, hostName, running.worker.child);

  const { buildImageArchive } = stack.requireRuntime('testing/image-builder.js') as typeof import('../../libs/runtime/src/testing/image-builder');
  const { busyboxLayer } = stack.requireRuntime('testing/busybox-layer.js') as typeof import('../../libs/runtime/src/testing/busybox-layer');
  const layer = await busyboxLayer();
  const config = { cmd: ['sh'], env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] };
  const busyboxOciTar = join(dataDir, 'busybox-oci.tar');
  const busyboxDockerTar = join(dataDir, 'busybox-docker.tar');
  writeFileSync(busyboxOciTar, await buildImageArchive({ format: 'oci', images: [{ references: ['busybox:latest'], layers: [layer], config }] }));
  writeFileSync(busyboxDockerTar, await buildImageArchive({ format: 'docker', images: [{ references: ['busybox-classic:1.0'], layers: [layer], config }] }));

  const env: E2eEnv = {
    url: running.api.url,
    adminToken,
    hostName,
    dataDir,
    logDir,
    busyboxOciTar,
    busyboxDockerTar,
    redisUrl: running.redisUrl,
    workerPid: running.worker.child.pid,
  };
  writeFileSync(E2E_STATE_FILE, JSON.stringify(env, null, 2));
}
