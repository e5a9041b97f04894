import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerCgroup, limitValue, parseBlkioV1, parseIoStatV2, parseKeyValues } from './cgroups';

describe('cgroup file parsers', () => {
  it('reads limits: max and the v1 page-rounded maximum are unlimited', () => {
    expect(limitValue('max\n')).toBeUndefined();
    expect(limitValue('9223372036854771712\n')).toBeUndefined();
    expect(limitValue('33554432\n')).toBe(33554432);
    expect(limitValue(undefined)).toBeUndefined();
    expect(limitValue('')).toBeUndefined();
  });

  it('reads key value files', () => {
    const values = parseKeyValues('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    expect(values.get('oom_kill')).toBe(2);
    expect(values.get('missing')).toBeUndefined();
  });

  it('sums block I/O over devices, v1 and v2', () => {
    expect(parseBlkioV1('8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:16 Read 100\nTotal 4708\n')).toEqual({ read: 4196, write: 512 });
    expect(parseIoStatV2('8:0 rbytes=4096 wbytes=512 rios=1 wios=1\n8:16 rbytes=100 wbytes=0\n')).toEqual({ read: 4196, write: 512 });
  });
});

describe('ContainerCgroup', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-cgroup-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const files = async (dir: string, content: Record<string, string>) => {
    await mkdir(dir, { recursive: true });
    for (const [name, text] of Object.entries(content)) await writeFile(join(dir, name), text);
  };

  it('samples cgroup v1: one directory per controller, usage minus inactive file', async () => {
    const path = '/berth/ctr_1';
    await files(join(root, 'memory', path), {
      'memory.usage_in_bytes': '10485760\n',
      'memory.limit_in_bytes': '33554432\n',
      'memory.stat': 'cache 4096\ninactive_file 1048576\ntotal_cache 8192\ntotal_inactive_file 2097152\n',
      'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
      'cgroup.procs': '42\n43\n',
    });
    await files(join(root, 'cpuacct', path), { 'cpuacct.usage': '123456789\n' });
    await files(join(root, 'pids', path), { 'pids.current': '2\n', 'pids.max': 'max\n', 'cgroup.procs': '42\n43\n' });
    await files(join(root, 'blkio', path), { 'blkio.throttle.io_service_bytes_recursive': '8:0 Read 10\n8:0 Write 20\nTotal 30\n' });
    await files(join(root, 'cpu', path), { 'cpu.cfs_quota_us': '50000\n', 'cpu.cfs_period_us': '100000\n' });
    const cgroup = new ContainerCgroup(1, path, root);
    await expect(cgroup.sample()).resolves.toEqual({
      cpuUsageNanos: 123456789,
      memoryUsageBytes: 10485760 - 2097152,
      memoryLimitBytes: 33554432,
      memoryCacheBytes: 8192,
      pidsCurrent: 2,
      blockReadBytes: 10,
      blockWriteBytes: 20,
    });
    await expect(cgroup.pids()).resolves.toEqual([42, 43]);
    await expect(cgroup.oomKillCount()).resolves.toBe(1);
    await expect(cgroup.limits()).resolves.toEqual({ memoryBytes: 33554432, pids: undefined, cpuQuotaUs: 50000, cpuPeriodUs: 100000 });
  });

  it('samples cgroup v2: one unified directory', async () => {
    const path = '/berth/ctr_2';
    await files(join(root, path), {
      'cpu.stat': 'usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n',
      'cpu.max': '50000 100000\n',
      'memory.current': '5242880\n',
      'memory.max': 'max\n',
      'memory.stat': 'anon 1000\nfile 4096\ninactive_file 1048576\n',
      'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
      'pids.current': '3\n',
      'pids.max': '20\n',
      'io.stat': '8:0 rbytes=7 wbytes=9 rios=1 wios=1 dbytes=0 dios=0\n',
      'cgroup.procs': '7\n',
    });
    const cgroup = new ContainerCgroup(2, path, root);
    await expect(cgroup.sample()).resolves.toEqual({
      cpuUsageNanos: 2_500_000,
      memoryUsageBytes: 5242880 - 1048576,
      memoryCacheBytes: 4096,
      pidsCurrent: 3,
      pidsLimit: 20,
      blockReadBytes: 7,
      blockWriteBytes: 9,
    });
    await expect(cgroup.pids()).resolves.toEqual([7]);
    await expect(cgroup.oomKillCount()).resolves.toBe(1);
    await expect(cgroup.limits()).resolves.toEqual({ memoryBytes: undefined, pids: 20, cpuQuotaUs: 50000, cpuPeriodUs: 100000 });
  });

  it('reads zeros, no processes and no OOM count from a cgroup that is gone', async () => {
    const cgroup = new ContainerCgroup(2, '/berth/gone', root);
    await expect(cgroup.exists()).resolves.toBe(false);
    await expect(cgroup.sample()).resolves.toMatchObject({ cpuUsageNanos: 0, memoryUsageBytes: 0, pidsCurrent: 0 });
    await expect(cgroup.pids()).resolves.toEqual([]);
    await expect(cgroup.oomKillCount()).resolves.toBeUndefined();
  });
});
