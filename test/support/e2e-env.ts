import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the global setup started, shared with every e2e test file. */
export interface E2eEnv {
  url: string;
  adminToken: string;
  hostName: string;
  dataDir: string;
  logDir: string;
  busyboxOciTar: string;
  busyboxDockerTar: string;
  redisUrl: string;
  /** The worker now running (a test may replace the one the setup started). */
  workerPid: number;
}

/**
 * What the e2e workers run with beside the stack's basics: image removals after a
 * short grace, bridges removed as soon as unused (the tests check for leftovers at
 * once), and, for the worker on this machine's own network, no overlay (tests that
 * span hosts start their own workers, each in a namespace of its own).
 */
export const E2E_WORKER_ENV = { BERTH_IMAGE_REMOVAL_GRACE_MS: '500', BERTH_BRIDGE_IDLE_MS: '0' } as const;
export const E2E_MAIN_WORKER_ENV = { ...E2E_WORKER_ENV, BERTH_OVERLAY_ADDRESS: 'off' } as const;

export const E2E_STATE_FILE = join(__dirname, '..', '..', 'dist', 'e2e-state.json');

export function e2eEnv(): E2eEnv {
  return JSON.parse(readFileSync(E2E_STATE_FILE, 'utf8')) as E2eEnv;
}

/** Notes a worker a test started, so the teardown stops it. */
export function recordWorker(pid: number | undefined): void {
  if (!pid) throw new Error('the worker did not start');
  writeFileSync(E2E_STATE_FILE, JSON.stringify({ ...e2eEnv(), workerPid: pid }, null, 2));
}
