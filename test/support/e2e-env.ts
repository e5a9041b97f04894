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

export const E2E_STATE_FILE = join(__dirname, '..', '..', 'dist', 'e2e-state.json');

export function e2eEnv(): E2eEnv {
  return JSON.parse(readFileSync(E2E_STATE_FILE, 'utf8')) as E2eEnv;
}

/** Notes a worker a test started, so the teardown stops it. */
export function recordWorker(pid: number | undefined): void {
  if (!pid) throw new Error('the worker did not start');
  writeFileSync(E2E_STATE_FILE, JSON.stringify({ ...e2eEnv(), workerPid: pid }, null, 2));
}
