import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@berth/domain';
import type { ContainerSpec, ImageConfigSummary } from '@berth/domain';

/**
 * The OCI runtime-spec config.json of a container, with Docker's defaults: the
 * same namespaces, capabilities, mounts, masked and read-only paths. Pure apart
 * from `resolveUser`, which reads the image's /etc/passwd and /etc/group.
 */

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's default capability set, in Docker's order. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
] as const;

export const DEFAULT_MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
] as const;

export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'] as const;

/** RLIMIT_NOFILE as Docker sets it, capped by what the host allows. */
export const NOFILE_SOFT = 1024;
export const NOFILE_HARD = 1048576;

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[] };
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  annotations: Record<string, string>;
  linux: {
    cgroupsPath: string;
    namespaces: { type: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    resources: { devices: { allow: boolean; type?: string; major?: number; minor?: number; access: string }[] };
  };
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** From /etc/passwd when the user is listed there, else `/`. */
  home: string;
}

/** Host files bind-mounted read-only over the container's /etc entries. */
export interface EtcFileSources {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export interface OciSpecOptions {
  id: string;
  spec: ContainerSpec;
  image: ImageConfigSummary;
  rootfsPath: string;
  user: ResolvedUser;
  /** The host's hard RLIMIT_NOFILE (from /proc/self/limits): never ask for more. */
  hostNofileHardLimit: number;
  cgroupsPath: string;
  /** On cgroup v2 the container gets its own cgroup namespace, as Docker does. */
  cgroupVersion?: 1 | 2;
  etcFiles?: EtcFileSources;
}

export function buildOciSpec(options: OciSpecOptions): OciSpec {
  const { spec, image, user } = options;
  const hostname = containerHostname(options.id, spec);
  const nofileHard = Math.min(NOFILE_HARD, options.hostNofileHardLimit);
  const capabilities = [...DEFAULT_CAPABILITIES];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      args: resolveProcessArgs(spec, image),
      env: containerEnv(image.env, spec.env, { hostname, home: user.home }),
      cwd: workingDir(spec, image),
      capabilities: { bounding: capabilities, effective: capabilities, permitted: capabilities, inheritable: [], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: nofileHard, soft: Math.min(NOFILE_SOFT, nofileHard) }],
      noNewPrivileges: true,
    },
    root: { path: options.rootfsPath, readonly: false },
    hostname,
    mounts: [...defaultMounts(), ...etcMounts(options.etcFiles)],
    annotations: { ...spec.labels },
    linux: {
      cgroupsPath: options.cgroupsPath,
      namespaces: namespaces(options.cgroupVersion),
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
      // Deny every device; runc then allows its default set (null, zero, full, tty, random, urandom, pts).
      resources: { devices: [{ allow: false, access: 'rwm' }] },
    },
  };
}

/** The request's hostname, else the last 12 characters of the id (as Docker shortens its ids). */
export function containerHostname(id: string, spec: Pick<ContainerSpec, 'hostname'>): string {
  return spec.hostname || id.slice(-12);
}

/**
 * Docker's rules: an entrypoint in the request replaces the image's and drops the
 * image's cmd; otherwise the image's entrypoint runs with the request's cmd, or the image's.
 */
export function resolveProcessArgs(spec: Pick<ContainerSpec, 'entrypoint' | 'cmd'>, image: ImageConfigSummary): string[] {
  const args =
    spec.entrypoint !== undefined
      ? [...spec.entrypoint, ...(spec.cmd ?? [])]
      : [...(image.entrypoint ?? []), ...(spec.cmd ?? image.cmd ?? [])];
  if (args.length === 0 || args[0] === '') {
    throw new InvalidArgumentError(
      'no command specified',
      [{ field: 'cmd', message: 'neither the request nor the image names a command' }],
      'NoCommandSpecified',
    );
  }
  return args;
}

/**
 * PATH (when nobody sets it), HOSTNAME and HOME first, then the image's variables,
 * then the request's: a later `KEY=` replaces an earlier one in place.
 */
export function containerEnv(
  imageEnv: string[] | undefined,
  specEnv: string[] | undefined,
  defaults: { hostname: string; home: string },
): string[] {
  const requested = [...(imageEnv ?? []), ...(specEnv ?? [])];
  const merged = new Map<string, string>();
  const put = (entry: string) => merged.set(envKey(entry), entry);
  if (!requested.some((entry) => envKey(entry) === 'PATH')) put(DEFAULT_PATH);
  put(`HOSTNAME=${defaults.hostname}`);
  if (!requested.some((entry) => envKey(entry) === 'HOME')) put(`HOME=${defaults.home}`);
  requested.forEach(put);
  return [...merged.values()];
}

function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  if (eq <= 0) {
    throw new InvalidArgumentError(`invalid environment entry ${JSON.stringify(entry)}`, [
      { field: 'env', message: 'expected KEY=value' },
    ]);
  }
  return entry.slice(0, eq);
}

function workingDir(spec: ContainerSpec, image: ImageConfigSummary): string {
  const dir = spec.workingDir || image.workingDir || '/';
  if (!dir.startsWith('/')) {
    throw new InvalidArgumentError(`the working directory ${JSON.stringify(dir)} is invalid, it needs to be an absolute path`, [
      { field: 'workingDir', message: 'must be an absolute path' },
    ]);
  }
  return dir;
}

function namespaces(cgroupVersion: 1 | 2 | undefined): { type: string }[] {
  const list = ['pid', 'ipc', 'uts', 'mount', 'network'].map((type) => ({ type }));
  return cgroupVersion === 2 ? [...list, { type: 'cgroup' }] : list;
}

function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

function etcMounts(files: EtcFileSources | undefined): OciMount[] {
  if (!files) return [];
  const bind = (destination: string, source: string): OciMount => ({
    destination,
    type: 'bind',
    source,
    options: ['rbind', 'rprivate', 'ro'],
  });
  return [bind('/etc/hosts', files.hosts), bind('/etc/hostname', files.hostname), bind('/etc/resolv.conf', files.resolvConf)];
}

// ---------------------------------------------------------------------------------------------
// Users: `uid`, `uid:gid`, `name`, `name:group`, looked up in the image's /etc/passwd and /etc/group.

export interface UserDatabase {
  passwd?: string;
  group?: string;
}

/** Resolves a user against the rootfs's /etc/passwd and /etc/group (symlinks there are not followed). */
export async function resolveUser(userSpec: string | undefined, rootfsDir: string): Promise<ResolvedUser> {
  const [passwd, group] = await Promise.all([readEtcFile(rootfsDir, 'passwd'), readEtcFile(rootfsDir, 'group')]);
  return resolveUserFromDatabase(userSpec, { passwd, group });
}

export function resolveUserFromDatabase(userSpec: string | undefined, db: UserDatabase): ResolvedUser {
  const text = (userSpec ?? '').trim();
  const colon = text.indexOf(':');
  const userPart = (colon < 0 ? text : text.slice(0, colon)) || 'root';
  const groupPart = colon < 0 ? undefined : text.slice(colon + 1);
  const users = parseColonFile(db.passwd, 7);
  const groups = parseColonFile(db.group, 4);

  let uid: number;
  let entry: string[] | undefined;
  if (isNumericId(userPart)) {
    uid = Number(userPart);
    entry = users.find((u) => Number(u[2]) === uid);
  } else {
    entry = users.find((u) => u[0] === userPart);
    if (!entry) {
      if (userPart !== 'root') throw unknown('UnknownUser', `unable to find user ${userPart}: no matching entries in passwd file`);
      entry = ['root', 'x', '0', '0', '', '/root', ''];
    }
    uid = Number(entry[2]);
  }

  let gid = entry ? Number(entry[3]) || 0 : 0;
  if (groupPart !== undefined && groupPart !== '') {
    if (isNumericId(groupPart)) gid = Number(groupPart);
    else {
      const found = groups.find((g) => g[0] === groupPart);
      if (!found) throw unknown('UnknownGroup', `unable to find group ${groupPart}: no matching entries in group file`);
      gid = Number(found[2]);
    }
  }

  const name = entry?.[0];
  const additionalGids = name
    ? [...new Set(groups.filter((g) => (g[3] ?? '').split(',').includes(name)).map((g) => Number(g[2])))].filter(
        (g) => g !== gid && Number.isInteger(g),
      )
    : [];
  return { uid, gid, additionalGids, home: entry?.[5] || '/' };
}

function isNumericId(text: string): boolean {
  return /^\d{1,10}$/.test(text) && Number(text) < 2 ** 31;
}

function unknown(reason: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(message, [{ field: 'user', message }], reason);
}

function parseColonFile(content: string | undefined, fields: number): string[][] {
  if (!content) return [];
  return content
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(':'))
    .filter((parts) => parts.length >= Math.min(fields, 3) && /^\d+$/.test(parts[2]));
}

async function readEtcFile(rootfsDir: string, name: string): Promise<string | undefined> {
  try {
    const etc = await lstat(join(rootfsDir, 'etc'));
    if (!etc.isDirectory()) return undefined;
    const file = join(rootfsDir, 'etc', name);
    const stat = await lstat(file);
    if (!stat.isFile() || stat.size > 4 * 1024 * 1024) return undefined;
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
