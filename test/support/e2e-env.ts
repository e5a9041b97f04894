import { readFileSync } from 'node:fs';
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
}

export const E2E_STATE_FILE = join(__dirname, '..', '..', 'dist', 'e2e-state.json');

export function e2eEnv(): E2eEnv {
  return JSON.parse(readFileSync(E2E_STATE_FILE, 'utf8')) as E2eEnv;
}
