import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, type ContainerSpec } from '@berth/domain';
import {
  buildOciSpec,
  containerEnv,
  DEFAULT_CAPABILITIES,
  DEFAULT_PATH,
  resolveProcessArgs,
  resolveUser,
  resolveUserFromDatabase,
  type OciSpecOptions,
} from './oci-spec';

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
    expect(buildOciSpec(options({ hostNofileHardLimit: 20000 })).process.rlimits).toEqual([
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 20000 },
    ]);
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
