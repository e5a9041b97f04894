import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_STATE_FILE, e2eEnv } from './e2e-env';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../scripts/lib/stack.cjs');

/** Stops what the setup started, then removes every container the tests left on the host. */
export default async function globalTeardown(): Promise<void> {
  const running = (globalThis as Record<string, unknown>).__berthStack as { stop(): Promise<void> } | undefined;
  const env = existsSync(E2E_STATE_FILE) ? e2eEnv() : undefined;
  // A worker a test started in place of the setup's one: stop it by its pid.
  if (env) await stopPid(env.workerPid);
  await running?.stop();
  if (!env) return;
  await stack.removeLeftoverContainers(join(env.dataDir, 'worker', 'runtime'));
  rmSync(env.dataDir, { recursive: true, force: true });
  rmSync(E2E_STATE_FILE, { force: true });
}

async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  await stack.waitUntil(
    `worker ${pid} to exit`,
    async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    20000,
  );
}
