import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cpuPercent, newId, type ContainerSpec } from '@berth/domain';
import type { BusyboxLayer } from '../testing/busybox-rootfs';
import { leftovers, makeTestRoot, removeTestRoot } from '../testing/runc-test-root';
import { collect } from '../testing/runtime-contract';
import { ContainerCgroup } from './cgroups';
import { detectCgroupVersion } from './host';
import { RuncRuntime } from './runc.runtime';

/**
 * Limits, security and the exec/stats/top/pause/update calls against real runc,
 * conmon and cgroups (root needed). Every container is removed by id in afterEach.
 */

const MiB = 1024 * 1024;

describe('RuncRuntime limits and security on a real host', () => {
  let root: string;
  let state: string;
  let layer: BusyboxLayer;
  let runtime: RuncRuntime;
  let cgroupVersion: 1 | 2;
  const created: string[] = [];
  const spec = (overrides: Partial<ContainerSpec>): ContainerSpec => ({ name: 'limits', image: 'busybox', env: [], labels: {}, ...overrides });
  const sh = (script: string) => ['sh', '-c', script];
  const lines = async (id: string) => (await collect(runtime.logs(id))).map((l) => l.line);
  const create = async (overrides: Partial<ContainerSpec>) => {
    const id = newId('container');
    created.push(id);
    await runtime.create({ id, spec: spec(overrides), image: layer.image, metadata: {} });
    return id;
  };
  const run = async (overrides: Partial<ContainerSpec>) => {
    const id = await create(overrides);
    await runtime.start(id);
    const info = await runtime.wait(id);
    return { id, info, output: await lines(id) };
  };
  const cgroup = (id: string) => new ContainerCgroup(cgroupVersion, `/berth/${id}`);
  const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    ({ root, state, layer } = await makeTestRoot());
    runtime = new RuncRuntime({ root: state });
    cgroupVersion = await detectCgroupVersion();
  });

  afterEach(async () => {
    for (const id of created.splice(0)) {
      await runtime.remove(id, { force: true }).catch(() => undefined);
      expect(await leftovers(state, id)).toEqual([]);
    }
  });

  afterAll(async () => {
    await runtime?.close();
    if (root) await removeTestRoot(root, state);
  });

  describe('resources', () => {
    it('kills a process past its memory limit: exit 137 and oomKilled', async () => {
      const { id, info } = await run({
        cmd: sh('x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived'),
        resources: { memoryBytes: 32 * MiB },
      });
      expect(info).toMatchObject({ status: 'exited', exitCode: 137, oomKilled: true });
      // conmon writes `oom` into the bundle (it does on this host); without it the cgroup's oom_kill counter tells.
      await rm(join(state, 'containers', id, 'oom'), { force: true });
      await expect(runtime.inspect(id)).resolves.toMatchObject({ oomKilled: true });
      const meta = JSON.parse(await readFile(join(state, 'containers', id, 'meta.json'), 'utf8')) as { oomKilledRun?: string; startedAt?: string };
      expect(meta.oomKilledRun).toBe(meta.startedAt);
    });

    it('does not report an OOM kill for a container that exits normally', async () => {
      const { info } = await run({ cmd: ['true'], resources: { memoryBytes: 32 * MiB } });
      expect(info).toMatchObject({ exitCode: 0, oomKilled: false });
    });

    it('sets memory and pids limits in the container cgroup, and stats reports them', async () => {
      const id = await create({ cmd: ['sleep', '1000'], resources: { memoryBytes: 64 * MiB, pidsLimit: 50 } });
      await runtime.start(id);
      await expect(cgroup(id).limits()).resolves.toMatchObject({ memoryBytes: 64 * MiB, pids: 50 });
      const stats = await runtime.stats(id);
      expect(stats.memory.usageBytes).toBeGreaterThan(0);
      expect(stats.memory.limitBytes).toBe(64 * MiB);
      expect(stats.pids).toEqual({ current: 1, limit: 50 });
      expect(stats.cpu.usageNanos).toBeGreaterThan(0);
      await delay(200);
      const again = await runtime.stats(id);
      // `sleep` uses next to no CPU while the host's counter moves on.
      expect(again.cpu.systemNanos!).toBeGreaterThan(stats.cpu.systemNanos!);
      expect(cpuPercent(stats, again)).toBeLessThan(5);
      expect(again.network).toEqual({ rxBytes: 0, txBytes: 0 });
    });

    it('caps processes with pidsLimit: a bounded fork bomb stays at 20 and the host is unharmed', async () => {
      const id = await create({
        cmd: sh('(for i in $(seq 100); do sleep 30 & done; wait); echo bomb-done; sleep 30'),
        resources: { pidsLimit: 20 },
      });
      await runtime.start(id);
      for (let i = 0; i < 100 && !(await lines(id)).includes('bomb-done'); i++) await delay(100);
      const output = await lines(id);
      expect(output).toContain('bomb-done');
      expect(output.some((line) => line.includes('fork: Resource temporarily unavailable'))).toBe(true);
      const processes = await runtime.top(id);
      expect(processes.length).toBeGreaterThan(1);
      expect(processes.length).toBeLessThanOrEqual(20);
      expect((await runtime.stats(id)).pids.current).toBeLessThanOrEqual(20);
      const host = await promisify(execFile)('/bin/true');
      expect(host.stderr).toBe('');
      await runtime.remove(id, { force: true });
    });

    it('turns cpus 0.5 into a 50000/100000 CFS quota', async () => {
      const id = await create({ cmd: ['sleep', '1000'], resources: { cpus: 0.5 } });
      await expect(cgroup(id).limits()).resolves.toMatchObject({ cpuQuotaUs: 50000, cpuPeriodUs: 100000 });
      const raw =
        cgroupVersion === 2
          ? await readFile(`/sys/fs/cgroup/berth/${id}/cpu.max`, 'utf8')
          : await readFile(`/sys/fs/cgroup/cpu/berth/${id}/cpu.cfs_quota_us`, 'utf8');
      expect(raw.trim()).toBe(cgroupVersion === 2 ? '50000 100000' : '50000');
    });

    it('updates limits of a running container in place', async () => {
      const id = await create({ cmd: ['sleep', '1000'], resources: { memoryBytes: 64 * MiB, pidsLimit: 50 } });
      await runtime.start(id);
      await runtime.update(id, { memoryBytes: 128 * MiB, pidsLimit: 30, cpus: 1.5 });
      await expect(cgroup(id).limits()).resolves.toMatchObject({ memoryBytes: 128 * MiB, pids: 30, cpuQuotaUs: 150000 });
      await expect(runtime.update(id, { ulimits: [{ name: 'nofile', soft: 10, hard: 10 }] })).rejects.toMatchObject({
        reason: 'NotUpdatable',
      });
    });

    it('applies ulimits, and refuses one above the host limit before creating anything', async () => {
      const { output } = await run({ cmd: sh('ulimit -n; ulimit -Hn'), resources: { ulimits: [{ name: 'nofile', soft: 100, hard: 200 }] } });
      expect(output).toEqual(['100', '200']);
      const id = newId('container');
      await expect(
        runtime.create({
          id,
          spec: spec({ cmd: ['true'], resources: { ulimits: [{ name: 'nofile', soft: 50000, hard: 50000 }] } }),
          image: layer.image,
          metadata: {},
        }),
      ).rejects.toMatchObject({ errorClass: 'InvalidArgument', reason: 'UlimitAboveHostLimit' });
      expect(await leftovers(state, id)).toEqual([]);
    });

    it('sizes /dev/shm', async () => {
      const { output } = await run({ cmd: sh('grep /dev/shm /proc/mounts'), resources: { shmSizeBytes: 16 * MiB } });
      expect(output.join('\n')).toContain('size=16384k');
    });
  });

  describe('security', () => {
    it("runs with Docker's capabilities, no new privileges and seccomp filtering", async () => {
      const { output } = await run({ cmd: sh('grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status') });
      expect(output).toEqual(['CapEff:\t00000000a80425fb', 'CapBnd:\t00000000a80425fb', 'NoNewPrivs:\t1', 'Seccomp:\t2']);
    });

    it('blocks unshare with the default profile; the same container unconfined may', async () => {
      const script = sh('unshare -U true && echo allowed || echo refused');
      const confined = await run({ cmd: script });
      // stdout and stderr come through separate pipes: their lines may interleave either way.
      expect(confined.output).toHaveLength(2);
      expect(confined.output).toEqual(expect.arrayContaining(['refused', expect.stringMatching(/Operation not permitted/)]));
      const unconfined = await run({ cmd: script, security: { seccompProfile: 'unconfined' } });
      expect(unconfined.output).toEqual(['allowed']);
      const mountNs = await run({ cmd: sh('unshare -m true && echo allowed'), security: { seccompProfile: 'unconfined', capAdd: ['SYS_ADMIN'] } });
      expect(mountNs.output).toEqual(['allowed']);
    });

    it('keeps the root filesystem read-only but /dev/shm writable', async () => {
      const { output } = await run({
        cmd: sh('touch /file 2>/dev/null && echo root-writable || echo root-read-only; touch /dev/shm/x && echo shm-writable'),
        security: { readOnlyRootfs: true },
      });
      expect(output).toEqual(['root-read-only', 'shm-writable']);
    });

    it('drops a capability: chown fails without CAP_CHOWN', async () => {
      const script = sh('touch /tmp/f && chown 1000 /tmp/f && echo chowned || echo refused');
      expect((await run({ cmd: script })).output).toEqual(['chowned']);
      const dropped = (await run({ cmd: script, security: { capDrop: ['CHOWN'] } })).output;
      expect(dropped).toHaveLength(2); // stderr's line and stdout's, in either order
      expect(dropped).toEqual(expect.arrayContaining(['refused', expect.stringMatching(/Operation not permitted/)]));
    });

    it('refuses to create a container when the seccomp profile is missing', async () => {
      const strict = new RuncRuntime({ root: state, seccompProfilePath: '/nonexistent/seccomp.json' });
      const id = newId('container');
      try {
        await expect(strict.create({ id, spec: spec({ cmd: ['true'] }), image: layer.image, metadata: {} })).rejects.toMatchObject({
          errorClass: 'FailedPrecondition',
          reason: 'SeccompProfileMissing',
        });
        expect(await leftovers(state, id)).toEqual([]);
      } finally {
        await strict.close();
      }
    });
  });

  describe('exec, top, pause', () => {
    it('runs a command inside, with output, exit code, env, user and working directory', async () => {
      const id = await create({ cmd: ['sleep', '1000'], env: ['FROM=container'] });
      await runtime.start(id);
      const result = await runtime.exec(id, {
        cmd: sh('echo "$FROM $EXTRA"; id -u; pwd; echo oops >&2; exit 3'),
        env: ['EXTRA=exec'],
        user: 'berth',
        workingDir: '/tmp',
        timeoutSec: 10,
      });
      expect(result).toEqual({ exitCode: 3, stdout: 'container exec\n1000\n/tmp\n', stderr: 'oops\n', truncated: false });
      await expect(runtime.exec(id, { cmd: ['/no/such/program'], timeoutSec: 10 })).rejects.toMatchObject({
        errorClass: 'InvalidArgument',
        reason: 'CommandNotRunnable',
      });
    });

    it('caps exec output at 1 MiB per stream', async () => {
      const id = await create({ cmd: ['sleep', '1000'] });
      await runtime.start(id);
      const result = await runtime.exec(id, { cmd: sh('head -c 3000000 /dev/zero | tr "\\0" a'), timeoutSec: 20 });
      expect(result.exitCode).toBe(0);
      expect(result.stdout.length).toBe(MiB);
      expect(result.truncated).toBe(true);
    });

    it('kills an exec that runs past its timeout: exit 137', async () => {
      const id = await create({ cmd: ['sleep', '1000'] });
      await runtime.start(id);
      const began = Date.now();
      const result = await runtime.exec(id, { cmd: ['sleep', '30'], timeoutSec: 1 });
      expect(result.exitCode).toBe(137);
      expect(Date.now() - began).toBeLessThan(6000);
      expect((await runtime.top(id)).map((p) => p.args.join(' '))).toEqual(['sleep 1000']);
    });

    it('pause freezes the processes and unpause resumes them', async () => {
      const id = await create({ cmd: sh('i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done') });
      await runtime.start(id);
      await delay(300);
      await expect(runtime.pause(id)).resolves.toMatchObject({ status: 'paused' });
      await expect(runtime.inspect(id)).resolves.toMatchObject({ status: 'paused' });
      expect((await runtime.list()).find((c) => c.id === id)?.status).toBe('paused');
      const frozenAt = (await lines(id)).length;
      await delay(1000);
      expect((await lines(id)).length).toBe(frozenAt);
      await expect(runtime.exec(id, { cmd: ['true'], timeoutSec: 5 })).rejects.toMatchObject({ reason: 'ContainerPaused' });
      await expect(runtime.unpause(id)).resolves.toMatchObject({ status: 'running' });
      await delay(500);
      expect((await lines(id)).length).toBeGreaterThan(frozenAt);
      await runtime.pause(id);
      await expect(runtime.stop(id, 1)).resolves.toMatchObject({ status: 'exited' });
    });

    it('removes a paused container with force', async () => {
      const id = await create({ cmd: ['sleep', '1000'] });
      await runtime.start(id);
      await runtime.pause(id);
      await expect(runtime.remove(id)).rejects.toMatchObject({ errorClass: 'FailedPrecondition' });
      await runtime.remove(id, { force: true });
      expect(await leftovers(state, id)).toEqual([]);
    });

    it('lists processes with pid, ppid, user, state and args', async () => {
      const id = await create({ cmd: sh('sleep 1000 & sleep 1001'), user: 'berth' });
      const started = await runtime.start(id);
      await delay(200);
      const processes = await runtime.top(id);
      expect(processes.map((p) => p.args.join(' ')).sort()).toEqual(['sleep 1000', 'sleep 1001']);
      expect(processes.every((p) => p.user === 'berth' && p.pid > 0 && /^[RSD]$/.test(p.state))).toBe(true);
      expect(processes.find((p) => p.pid === started.pid)?.command).toBe('sleep');
    });
  });
});
