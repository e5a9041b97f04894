import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuncRuntime } from '../runc/runc.runtime';
import { pathExists } from '../shared/path-exists';
import { makeBusyboxLayer, type BusyboxLayer } from './busybox-rootfs';

/** Test roots for the real-runc integration specs (root needed): each lives under /tmp/berth-runc-int-*. */

export async function makeTestRoot(): Promise<{ root: string; state: string; layer: BusyboxLayer }> {
  const root = await mkdtemp(join(tmpdir(), 'berth-runc-int-'));
  const layer = await makeBusyboxLayer({ parent: root });
  return { root, state: join(root, 'state'), layer };
}

/** Removes what is left (by id, through the runtime), checks nothing leaked, then deletes the test root. */
export async function removeTestRoot(root: string, state: string): Promise<void> {
  const runtime = new RuncRuntime({ root: state });
  for (const info of await runtime.list().catch(() => [])) await runtime.remove(info.id, { force: true });
  await runtime.close();
  const runcLeft = execFileSync('/usr/bin/runc', ['--root', join(state, 'runc'), 'list', '-q'])
    .toString()
    .trim();
  const mountsLeft = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((line) => line.includes(root));
  if (runcLeft || mountsLeft.length) throw new Error(`test root ${root} still has containers (${runcLeft}) or mounts (${mountsLeft})`);
  await rm(root, { recursive: true, force: true });
}

/** Every trace a container could leave: files, runc state, mounts, monitor processes, cgroups. */
export async function leftovers(state: string, id: string): Promise<string[]> {
  const candidates = [
    join(state, 'containers', id),
    join(state, 'exits', id),
    join(state, 'sockets', id),
    join(state, 'runc', id),
    `/sys/fs/cgroup/berth/${id}`,
    ...(await readdir('/sys/fs/cgroup').catch(() => [])).map((controller) => `/sys/fs/cgroup/${controller}/berth/${id}`),
  ];
  const found = (await Promise.all(candidates.map(async (p) => ((await pathExists(p)) ? p : undefined)))).filter((p): p is string => p !== undefined);
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((line) => line.includes(id));
  return [...found, ...mounts.map((m) => `mount: ${m}`), ...(await processesMentioning(id))];
}

async function processesMentioning(id: string): Promise<string[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const found: string[] = [];
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(id)) found.push(`process ${pid}: ${cmdline.replace(/\0/g, ' ')}`);
  }
  return found;
}
