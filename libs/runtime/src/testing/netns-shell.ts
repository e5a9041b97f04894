import { netnsName } from '../network/network-names';
import { execFileRunner } from '../shared/process-runner';

/** For the integration tests of host networking: commands, and busybox in a container's namespace. */

export const BUSYBOX = '/bin/busybox';

export const run = (file: string, args: string[], timeoutMs = 10_000) => execFileRunner.run(file, args, { timeoutMs });

/** Runs and answers stdout; a non-zero exit throws with stderr. */
export async function sh(file: string, args: string[]): Promise<string> {
  const result = await run(file, args);
  if (result.exitCode !== 0) throw new Error(`${file} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** busybox in a container's namespace; a run out of time counts as a failure (busybox wget -T crashes here). */
export async function inNetns(containerId: string, args: string[], timeoutMs = 3_000): Promise<{ ok: boolean; out: string }> {
  try {
    const result = await run('/usr/sbin/ip', ['netns', 'exec', netnsName(containerId), BUSYBOX, ...args], timeoutMs);
    return { ok: result.exitCode === 0, out: result.stdout + result.stderr };
  } catch (err) {
    return { ok: false, out: (err as Error).message };
  }
}
