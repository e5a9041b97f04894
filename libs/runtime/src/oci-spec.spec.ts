import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, type ContainerSpec } from '@berth/domain';
import { mergeResourceUpdate } from './oci-resources';
import { ALL_CAPABILITIES } from './oci-security';
import {
  buildExecProcess,
  buildOciSpec,
  checkSpecForHost,
  containerEnv,
  DEFAULT_CAPABILITIES,
  DEFAULT_PATH,
  resolveProcessArgs,
  resolveUser,
  resolveUserFromDatabase,
  type OciSpecOptions,
} from './oci-spec';
import type { DockerSeccompProfile } from './seccomp';

const spec = (overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name: 'web',
  image: 'docker.io/library/busybox:latest',
  env: [],
  labels: {},
  cmd: ['sh'],
  ...overrides,
});

const options = (overrides: Partial<OciSpecOptions> = {}): OciSpecOptions => ({
  id: 'ctr_01hx0000000000000000abcdef',
  spec: spec(),
  image: {},
  rootfsPath: '/state/containers/x/rootfs',
  user: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
  hostNofileHardLimit: 20000,
  cgroupsPath: '/berth/x',
  ...overrides,
});

describe('buildOciSpec', () => {
  it("uses Docker's defaults: namespaces, capabilities, no new privileges, no terminal", () => {
    const oci = buildOciSpec(options());
    expect(oci.process.terminal).toBe(false);
    expect(oci.process.noNewPrivileges).toBe(true);
    expect(oci.linux.namespaces.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(oci.process.capabilities.bounding).toEqual([...DEFAULT_CAPABILITIES]);
    expect(oci.process.capabilities.effective).toEqual([...DEFAULT_CAPABILITIES]);
    expect(oci.process.capabilities.permitted).toEqual([...DEFAULT_CAPABILITIES]);
    expect(oci.process.capabilities.inheritable).toEqual([]);
    expect(oci.process.capabilities.ambient).toEqual([]);
    expect(DEFAULT_CAPABILITIES).toHaveLength(14);
    expect(oci.linux.cgroupsPath).toBe('/berth/x');
    expect(oci.root).toEqual({ path: '/state/containers/x/rootfs', readonly: false });
  });

  it('gives the container its own cgroup namespace on cgroup v2 only', () => {
    expect(buildOciSpec(options({ cgroupVersion: 2 })).linux.namespaces.map((n) => n.type)).toContain('cgroup');
    expect(buildOciSpec(options({ cgroupVersion: 1 })).linux.namespaces.map((n) => n.type)).not.toContain('cgroup');
  });

  it('mounts /proc, /dev, /dev/pts, /dev/shm (64m), /dev/mqueue, /sys and /sys/fs/cgroup read-only', () => {
    const mounts = buildOciSpec(options()).mounts;
    expect(mounts.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
    expect(mounts.find((m) => m.destination === '/dev/shm')?.options).toContain('size=67108864');
    expect(mounts.find((m) => m.destination === '/sys')?.options).toContain('ro');
    expect(mounts.find((m) => m.destination === '/sys/fs/cgroup')?.options).toContain('ro');
  });

  it('bind-mounts hosts, hostname and resolv.conf read-only when given', () => {
    const oci = buildOciSpec(options({ etcFiles: { hosts: '/b/hosts', hostname: '/b/hostname', resolvConf: '/b/resolv.conf' } }));
    const binds = oci.mounts.filter((m) => m.type === 'bind');
    expect(binds.map((m) => [m.destination, m.source])).toEqual([
      ['/etc/hosts', '/b/hosts'],
      ['/etc/hostname', '/b/hostname'],
      ['/etc/resolv.conf', '/b/resolv.conf'],
    ]);
    binds.forEach((m) => expect(m.options).toEqual(expect.arrayContaining(['rbind', 'ro'])));
  });

  it("masks Docker's paths and makes its /proc paths read-only", () => {
    const oci = buildOciSpec(options());
    expect(oci.linux.maskedPaths).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/sys/firmware', '/proc/scsi']));
    expect(oci.linux.readonlyPaths).toEqual(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  });

  it("limits open files to 1024 soft and never above the host's hard limit", () => {
    expect(buildOciSpec(options({ hostNofileHardLimit: 20000 })).process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 20000 }]);
    expect(buildOciSpec(options({ hostNofileHardLimit: 4_000_000 })).process.rlimits[0]).toMatchObject({ hard: 1048576 });
    expect(buildOciSpec(options({ hostNofileHardLimit: 512 })).process.rlimits[0]).toMatchObject({ soft: 512, hard: 512 });
  });

  it('sets hostname (default: last 12 characters of the id), user, cwd and labels as annotations', () => {
    const oci = buildOciSpec(
      options({
        spec: spec({ labels: { team: 'a' }, workingDir: '/srv' }),
        user: { uid: 1000, gid: 1000, additionalGids: [27], home: '/home/berth' },
      }),
    );
    expect(oci.hostname).toBe('0000abcdef'.padStart(12, '0'));
    expect(oci.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [27] });
    expect(oci.process.cwd).toBe('/srv');
    expect(oci.annotations).toEqual({ team: 'a' });
    expect(buildOciSpec(options({ spec: spec({ hostname: 'box' }) })).hostname).toBe('box');
  });

  it('takes the working directory from the request, then the image, then /; relative is refused', () => {
    expect(buildOciSpec(options({ image: { workingDir: '/app' } })).process.cwd).toBe('/app');
    expect(buildOciSpec(options()).process.cwd).toBe('/');
    expect(() => buildOciSpec(options({ spec: spec({ workingDir: 'app' }) }))).toThrow(InvalidArgumentError);
  });
});

describe('containerEnv', () => {
  const defaults = { hostname: 'box', home: '/root' };

  it('puts the request over the image, in place, and adds PATH, HOSTNAME and HOME', () => {
    expect(containerEnv(['A=image', 'B=image'], ['A=request', 'C=request'], defaults)).toEqual([
      DEFAULT_PATH,
      'HOSTNAME=box',
      'HOME=/root',
      'A=request',
      'B=image',
      'C=request',
    ]);
  });

  it('keeps the PATH and HOME someone set, and lets the request set HOSTNAME', () => {
    expect(containerEnv(['PATH=/bin'], ['HOME=/x', 'HOSTNAME=other'], defaults)).toEqual(['HOSTNAME=other', 'PATH=/bin', 'HOME=/x']);
  });

  it('refuses an entry without =', () => {
    expect(() => containerEnv([], ['NOVALUE'], defaults)).toThrow(InvalidArgumentError);
  });
});

describe('resolveProcessArgs', () => {
  const image = { entrypoint: ['/entry'], cmd: ['image-cmd'] };

  it('runs the image entrypoint with the request cmd, else the image cmd', () => {
    expect(resolveProcessArgs({}, image)).toEqual(['/entry', 'image-cmd']);
    expect(resolveProcessArgs({ cmd: ['x'] }, image)).toEqual(['/entry', 'x']);
    expect(resolveProcessArgs({ cmd: [] }, image)).toEqual(['/entry']);
  });

  it("replaces the image's entrypoint and drops its cmd when the request names an entrypoint", () => {
    expect(resolveProcessArgs({ entrypoint: ['/other'] }, image)).toEqual(['/other']);
    expect(resolveProcessArgs({ entrypoint: ['/other'], cmd: ['y'] }, image)).toEqual(['/other', 'y']);
    expect(resolveProcessArgs({ entrypoint: [], cmd: ['y'] }, image)).toEqual(['y']);
  });

  it('refuses when nothing names a command', () => {
    expect(() => resolveProcessArgs({}, {})).toThrow('no command specified');
    expect(() => resolveProcessArgs({ entrypoint: [] }, image)).toThrow(InvalidArgumentError);
    expect(() => resolveProcessArgs({ cmd: [''] }, {})).toThrow(InvalidArgumentError);
  });
});

describe('resolveUserFromDatabase', () => {
  const db = {
    passwd: 'root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000::/home/berth:/bin/sh\n# comment\nbroken line\n',
    group: 'root:x:0:\nberth:x:1000:\nwheel:x:10:berth,root\ndocker:x:999:berth\n',
  };

  it('is root 0:0 by default', () => {
    expect(resolveUserFromDatabase(undefined, db)).toEqual({ uid: 0, gid: 0, additionalGids: [10], home: '/root' });
    expect(resolveUserFromDatabase('', {})).toEqual({ uid: 0, gid: 0, additionalGids: [], home: '/root' });
  });

  it('looks names up, with their primary and supplementary groups', () => {
    expect(resolveUserFromDatabase('berth', db)).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 999], home: '/home/berth' });
  });

  it('takes numbers as they are, with the passwd group when the uid is listed, else 0', () => {
    expect(resolveUserFromDatabase('1000', db)).toMatchObject({ uid: 1000, gid: 1000 });
    expect(resolveUserFromDatabase('4242', db)).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: '/' });
    expect(resolveUserFromDatabase('4242:4343', db)).toMatchObject({ uid: 4242, gid: 4343 });
  });

  it('resolves a group by name or number', () => {
    expect(resolveUserFromDatabase('berth:wheel', db)).toMatchObject({ uid: 1000, gid: 10, additionalGids: [999] });
    expect(resolveUserFromDatabase('0:1000', db)).toMatchObject({ uid: 0, gid: 1000 });
  });

  it('refuses unknown names', () => {
    expect(() => resolveUserFromDatabase('nobody', db)).toThrow(expect.objectContaining({ reason: 'UnknownUser' }));
    expect(() => resolveUserFromDatabase('berth:nogroup', db)).toThrow(expect.objectContaining({ reason: 'UnknownGroup' }));
    expect(() => resolveUserFromDatabase('berth', {})).toThrow(InvalidArgumentError);
  });
});

describe('resolveUser', () => {
  let rootfs: string;
  beforeEach(async () => {
    rootfs = await mkdtemp(join(tmpdir(), 'berth-oci-spec-'));
  });
  afterEach(() => rm(rootfs, { recursive: true, force: true }));

  it("reads the rootfs's /etc/passwd and /etc/group", async () => {
    await mkdir(join(rootfs, 'etc'));
    await writeFile(join(rootfs, 'etc/passwd'), 'app:x:500:501::/app:/bin/sh\n');
    await writeFile(join(rootfs, 'etc/group'), 'app:x:501:\n');
    await expect(resolveUser('app', rootfs)).resolves.toEqual({ uid: 500, gid: 501, additionalGids: [], home: '/app' });
  });

  it('treats a rootfs without /etc as having only root', async () => {
    await expect(resolveUser(undefined, rootfs)).resolves.toMatchObject({ uid: 0, gid: 0 });
    await expect(resolveUser('app', rootfs)).rejects.toMatchObject({ reason: 'UnknownUser' });
  });

  it('does not follow a symlinked /etc/passwd out of the rootfs', async () => {
    const outside = join(rootfs, 'outside');
    await writeFile(outside, 'app:x:500:501::/app:/bin/sh\n');
    await mkdir(join(rootfs, 'etc'));
    await symlink(outside, join(rootfs, 'etc/passwd'));
    await expect(resolveUser('app', rootfs)).rejects.toMatchObject({ reason: 'UnknownUser' });
  });
});

describe('buildOciSpec resources', () => {
  const MiB = 1024 * 1024;
  const withResources = (resources: ContainerSpec['resources'], extra: Partial<OciSpecOptions> = {}) =>
    buildOciSpec(options({ spec: spec({ resources }), ...extra }));

  it('has no cgroup limits by default, only the device rule', () => {
    expect(buildOciSpec(options()).linux.resources).toEqual({ devices: [{ allow: false, access: 'rwm' }] });
  });

  it("limits memory with Docker's swap rule: twice the memory unless set, -1 unlimited", () => {
    expect(withResources({ memoryBytes: 64 * MiB }).linux.resources.memory).toEqual({ limit: 64 * MiB, swap: 128 * MiB });
    expect(withResources({ memoryBytes: 64 * MiB, memorySwapBytes: 100 * MiB }).linux.resources.memory).toEqual({ limit: 64 * MiB, swap: 100 * MiB });
    expect(withResources({ memoryBytes: 64 * MiB, memorySwapBytes: -1 }).linux.resources.memory).toEqual({ limit: 64 * MiB, swap: -1 });
    expect(withResources({ memoryBytes: 64 * MiB }, { swapLimit: false }).linux.resources.memory).toEqual({ limit: 64 * MiB });
  });

  it('refuses memory limits that make no sense', () => {
    for (const resources of [{ memoryBytes: 1024 }, { memoryBytes: -5 }, { memoryBytes: 64 * MiB, memorySwapBytes: 32 * MiB }, { memorySwapBytes: 64 * MiB }]) {
      expect(() => withResources(resources)).toThrow(InvalidArgumentError);
    }
  });

  it('turns cpus into a quota over a 100 ms period, and keeps shares, cpuset and pids', () => {
    expect(withResources({ cpus: 0.5, cpuShares: 512, cpusetCpus: '0-1,3', pidsLimit: 20 }).linux.resources).toMatchObject({
      cpu: { quota: 50000, period: 100000, shares: 512, cpus: '0-1,3' },
      pids: { limit: 20 },
    });
    expect(withResources({ cpus: 1.5 }).linux.resources.cpu).toEqual({ quota: 150000, period: 100000 });
    expect(withResources({ pidsLimit: 0 }).linux.resources.pids).toEqual({ limit: -1 });
    for (const resources of [{ cpus: 0 }, { cpus: 0.001 }, { cpuShares: 1 }, { cpusetCpus: '0;1' }, { pidsLimit: 1.5 }]) {
      expect(() => withResources(resources)).toThrow(InvalidArgumentError);
    }
  });

  it('sizes /dev/shm, 64 MiB by default', () => {
    const shm = (oci: ReturnType<typeof buildOciSpec>) => oci.mounts.find((m) => m.destination === '/dev/shm')?.options;
    expect(shm(withResources(undefined))).toContain('size=67108864');
    expect(shm(withResources({ shmSizeBytes: 16 * MiB }))).toContain(`size=${16 * MiB}`);
    expect(() => withResources({ shmSizeBytes: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('buildOciSpec ulimits', () => {
  const rlimits = (ulimits: { name: string; soft: number; hard: number }[], hostRlimits = {}) =>
    buildOciSpec(options({ spec: spec({ resources: { ulimits } }), hostRlimits })).process.rlimits;

  it('adds RLIMIT_ + the upper-case name, replacing the NOFILE default when nofile is set', () => {
    expect(rlimits([{ name: 'nproc', soft: 100, hard: 200 }])).toEqual([
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 20000 },
      { type: 'RLIMIT_NPROC', soft: 100, hard: 200 },
    ]);
    expect(rlimits([{ name: 'nofile', soft: 100, hard: 200 }])).toEqual([{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }]);
    expect(rlimits([{ name: 'CORE', soft: 0, hard: 0 }])[1]).toEqual({ type: 'RLIMIT_CORE', soft: 0, hard: 0 });
  });

  it("refuses a value above the host's hard limit, naming the limit", () => {
    const above = () => rlimits([{ name: 'nofile', soft: 50000, hard: 50000 }]);
    expect(above).toThrow(expect.objectContaining({ errorClass: 'InvalidArgument', reason: 'UlimitAboveHostLimit' }));
    expect(above).toThrow(/nofile/);
    expect(() => rlimits([{ name: 'nofile', soft: 30000, hard: 10000 }])).toThrow(expect.objectContaining({ reason: 'UlimitAboveHostLimit' }));
    expect(() => rlimits([{ name: 'nproc', soft: 10, hard: 600 }], { nproc: 500 })).toThrow(/nproc/);
    expect(rlimits([{ name: 'nproc', soft: 10, hard: 600 }], { nproc: Infinity })[1]).toMatchObject({ hard: 600 });
  });

  it('refuses soft above hard, negative values and unknown names', () => {
    expect(() => rlimits([{ name: 'nofile', soft: 200, hard: 100 }])).toThrow(expect.objectContaining({ reason: 'InvalidUlimit' }));
    expect(() => rlimits([{ name: 'nofile', soft: -1, hard: 100 }])).toThrow(InvalidArgumentError);
    expect(() => rlimits([{ name: 'files', soft: 1, hard: 1 }])).toThrow(expect.objectContaining({ reason: 'UnknownUlimit' }));
  });

  it('checkSpecForHost makes the same checks without a rootfs', () => {
    const host = { hostNofileHardLimit: 20000 };
    expect(() => checkSpecForHost(spec({ resources: { ulimits: [{ name: 'nofile', soft: 50000, hard: 50000 }] } }), {}, host)).toThrow(
      expect.objectContaining({ reason: 'UlimitAboveHostLimit' }),
    );
    expect(() => checkSpecForHost(spec({ security: { capDrop: ['BOGUS'] } }), {}, host)).toThrow(InvalidArgumentError);
    expect(() => checkSpecForHost(spec({ cmd: undefined }), {}, host)).toThrow('no command specified');
    expect(() => checkSpecForHost(spec(), {}, host)).not.toThrow();
  });
});

describe('buildOciSpec security', () => {
  const caps = (security: ContainerSpec['security']) => buildOciSpec(options({ spec: spec({ security }) })).process.capabilities;

  it('adds and drops capabilities, with or without CAP_, any case', () => {
    const tweaked = caps({ capAdd: ['NET_ADMIN', 'cap_sys_ptrace'], capDrop: ['CHOWN', 'CAP_KILL'] });
    expect(tweaked.bounding).toEqual([...DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_CHOWN' && c !== 'CAP_KILL'), 'CAP_NET_ADMIN', 'CAP_SYS_PTRACE']);
    expect(tweaked.effective).toEqual(tweaked.bounding);
    expect(tweaked.permitted).toEqual(tweaked.bounding);
  });

  it('understands ALL: drop ALL keeps only the added ones, add ALL gives all but the dropped', () => {
    expect(caps({ capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'] }).bounding).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(caps({ capDrop: ['all'] }).bounding).toEqual([]);
    const all = caps({ capAdd: ['ALL'], capDrop: ['SYS_ADMIN'] }).bounding;
    expect(all).toHaveLength(ALL_CAPABILITIES.length - 1);
    expect(all).not.toContain('CAP_SYS_ADMIN');
  });

  it('refuses unknown capabilities', () => {
    expect(() => caps({ capAdd: ['FLY'] })).toThrow(expect.objectContaining({ reason: 'UnknownCapability' }));
    expect(() => caps({ capDrop: ['CAP_NOPE'] })).toThrow(InvalidArgumentError);
  });

  it('makes the root filesystem read-only, leaving the tmpfs mounts writable', () => {
    const oci = buildOciSpec(options({ spec: spec({ security: { readOnlyRootfs: true } }) }));
    expect(oci.root.readonly).toBe(true);
    for (const dest of ['/dev', '/dev/shm']) expect(oci.mounts.find((m) => m.destination === dest)?.options).not.toContain('ro');
  });

  it('sets no new privileges unless told otherwise', () => {
    expect(buildOciSpec(options({ spec: spec({ security: { noNewPrivileges: false } }) })).process.noNewPrivileges).toBe(false);
    expect(buildOciSpec(options({ spec: spec({ security: {} }) })).process.noNewPrivileges).toBe(true);
  });

  it('gives a privileged container every capability and device, no masked or read-only paths, /sys read-write', () => {
    const oci = buildOciSpec(options({ spec: spec({ security: { privileged: true } }) }));
    expect(oci.process.capabilities.bounding).toEqual([...ALL_CAPABILITIES]);
    expect(oci.linux.maskedPaths).toEqual([]);
    expect(oci.linux.readonlyPaths).toEqual([]);
    expect(oci.linux.resources.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(oci.mounts.find((m) => m.destination === '/sys')?.options).toContain('rw');
    expect(oci.mounts.find((m) => m.destination === '/sys')?.options).not.toContain('ro');
  });
});

describe('buildOciSpec seccomp', () => {
  const profile: DockerSeccompProfile = {
    defaultAction: 'SCMP_ACT_ERRNO',
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
    syscalls: [
      { names: ['read'], action: 'SCMP_ACT_ALLOW' },
      { names: ['unshare'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    ],
  };
  const seccomp = { profile, arch: 'x64', kernel: '6.1.0' };
  const build = (security?: ContainerSpec['security']) => buildOciSpec(options({ spec: spec({ security }), seccomp })).linux.seccomp;

  it("applies the profile for the container's capabilities", () => {
    expect(build()).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }],
    });
    expect(build({ capAdd: ['SYS_ADMIN'] })?.syscalls.map((s) => s.names[0])).toEqual(['read', 'unshare']);
  });

  it('applies none when privileged or unconfined, or when no profile is given', () => {
    expect(build({ privileged: true })).toBeUndefined();
    expect(build({ seccompProfile: 'unconfined' })).toBeUndefined();
    expect(buildOciSpec(options()).linux.seccomp).toBeUndefined();
  });
});

describe('buildExecProcess', () => {
  const container = buildOciSpec(
    options({ spec: spec({ env: ['A=container', 'B=container'], workingDir: '/srv', resources: { ulimits: [{ name: 'nproc', soft: 5, hard: 5 }] } }) }),
  ).process;

  it("keeps the container's capabilities, rlimits and no-new-privileges, with the exec's command, env and cwd", () => {
    const exec = buildExecProcess(container, { cmd: ['ls', '-l'], env: ['B=exec', 'C=exec'], workingDir: '/tmp' });
    expect(exec.args).toEqual(['ls', '-l']);
    expect(exec.env).toEqual([DEFAULT_PATH, 'HOSTNAME=000000abcdef', 'HOME=/root', 'A=container', 'B=exec', 'C=exec']);
    expect(exec.cwd).toBe('/tmp');
    expect(exec.capabilities).toEqual(container.capabilities);
    expect(exec.rlimits).toEqual(container.rlimits);
    expect(exec.noNewPrivileges).toBe(true);
    expect(exec.user).toEqual({ uid: 0, gid: 0 });
    expect(exec.terminal).toBe(false);
  });

  it("runs in the container's directory as its user unless told otherwise", () => {
    expect(buildExecProcess(container, { cmd: ['pwd'] }).cwd).toBe('/srv');
    expect(buildExecProcess(container, { cmd: ['id'] }, { uid: 1000, gid: 1000, additionalGids: [10], home: '/home/berth' }).user).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [10],
    });
  });

  it('refuses no command, a relative directory and a bad env entry', () => {
    expect(() => buildExecProcess(container, { cmd: [] })).toThrow(InvalidArgumentError);
    expect(() => buildExecProcess(container, { cmd: ['ls'], workingDir: 'tmp' })).toThrow(InvalidArgumentError);
    expect(() => buildExecProcess(container, { cmd: ['ls'], env: ['NOEQUALS'] })).toThrow(InvalidArgumentError);
  });
});

describe('mergeResourceUpdate', () => {
  const MiB = 1024 * 1024;
  it('puts the update over the current limits, resetting swap to the default when memory changes', () => {
    expect(mergeResourceUpdate({ memoryBytes: 64 * MiB, memorySwapBytes: 100 * MiB, pidsLimit: 5 }, { memoryBytes: 128 * MiB })).toEqual({
      memoryBytes: 128 * MiB,
      pidsLimit: 5,
    });
    expect(mergeResourceUpdate({ memoryBytes: 64 * MiB, memorySwapBytes: -1 }, { memoryBytes: 128 * MiB })).toEqual({
      memoryBytes: 128 * MiB,
      memorySwapBytes: -1,
    });
    expect(mergeResourceUpdate(undefined, { cpus: 2 })).toEqual({ cpus: 2 });
  });

  it('refuses ulimit and /dev/shm changes, and invalid limits', () => {
    expect(() => mergeResourceUpdate({}, { shmSizeBytes: MiB })).toThrow(expect.objectContaining({ reason: 'NotUpdatable' }));
    expect(() => mergeResourceUpdate({}, { ulimits: [{ name: 'nofile', soft: 1, hard: 1 }] })).toThrow(InvalidArgumentError);
    expect(mergeResourceUpdate({ shmSizeBytes: MiB }, { shmSizeBytes: MiB, cpus: 1 })).toEqual({ shmSizeBytes: MiB, cpus: 1 });
    expect(() => mergeResourceUpdate({}, { cpus: -1 })).toThrow(InvalidArgumentError);
  });
});
