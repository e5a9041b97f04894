import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_STATE_FILE, e2eEnv } from './e2e-env';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../scripts/lib/stack.cjs');

/** Stops what the setup started, then removes every container the tests left on the host. */
export default async function globalTeardown(): Promise<void> {
  const running = (globalThis as Record<string, unknown>).__berthStack as { stop(): Promise<void> } | undefined;
  await running?.stop();
  if (!existsSync(E2E_STATE_FILE)) return;
  const env = e2eEnv();
  await stack.removeLeftoverContainers(join(env.dataDir, 'worker', 'runtime'));
  rmSync(env.dataDir, { recursive: true, force: true });
  rmSync(E2E_STATE_FILE, { force: true });
}
