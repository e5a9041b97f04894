import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@berth/domain';
import type { ContainerSpec, ImageConfigSummary } from '@berth/domain';
import type { HostMount } from './container-runtime';
import { cgroupResources, processRlimits, shmSize, type HostRlimits, type OciLinuxResources, type OciRlimit } from './oci-resources';
import { containerCapabilities } from './oci-security';
import { seccompFromDockerProfile, type DockerSeccompProfile, type OciSeccomp } from './seccomp';

export { DEFAULT_CAPABILITIES } from './oci-security';

/**
 * The OCI runtime-spec config.json of a container, with Docker's defaults: the
 * same namespaces, capabilities, mounts, masked and read-only paths. Pure apart
 * from `resolveUser`, which reads the image's /etc/passwd and /etc/group.
 */

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

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

export interface OciProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[] };
  rlimits: OciRlimit[];
  noNewPrivileges: boolean;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  annotations: Record<string, string>;
  linux: {
    cgroupsPath: string;
    namespaces: { type: string; path?: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    resources: OciLinuxResources & { devices: NonNullable<OciLinuxResources['devices']> };
    seccomp?: OciSeccomp;
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
  /** The host's other hard limits; a ulimit above one is refused. Unknown ones are not checked. */
  hostRlimits?: HostRlimits;
  /** Docker's seccomp profile and the host it is for; applied unless privileged or `seccompProfile: 'unconfined'`. */
  seccomp?: { profile: DockerSeccompProfile; arch: string; kernel: string };
  /** The kernel accounts swap (v1 memory.memsw, v2 memory.swap.max): only then is a swap limit set. Default true. */
  swapLimit?: boolean;
  cgroupsPath: string;
  /** On cgroup v2 the container gets its own cgroup namespace, as Docker does. */
  cgroupVersion?: 1 | 2;
  etcFiles?: EtcFileSources;
  mounts?: HostMount[];
  /** A network namespace to join (bridge networking); with `networkMode: host`, none at all. */
  netnsPath?: string;
}

export function buildOciSpec(options: OciSpecOptions): OciSpec {
  const { spec, image, user } = options;
  const hostname = containerHostname(options.id, spec);
  const security = spec.security ?? {};
  const privileged = security.privileged === true;
  const capabilities = containerCapabilities(security);
  const oci: OciSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      args: resolveProcessArgs(spec, image),
      env: containerEnv(image.env, spec.env, { hostname, home: user.home }),
      cwd: workingDir(spec, image),
      capabilities: { bounding: capabilities, effective: [...capabilities], permitted: [...capabilities], inheritable: [], ambient: [] },
      rlimits: containerRlimits(spec, options),
      noNewPrivileges: security.noNewPrivileges ?? true,
    },
    root: { path: options.rootfsPath, readonly: security.readOnlyRootfs === true },
    hostname,
    mounts: [...defaultMounts({ shmSizeBytes: shmSize(spec.resources), privileged }), ...etcMounts(options.etcFiles), ...userMounts(options.mounts)],
    annotations: { ...spec.labels },
    linux: {
      cgroupsPath: options.cgroupsPath,
      namespaces: namespaces(options.cgroupVersion, spec.networkMode === 'host' ? 'host' : options.netnsPath),
      maskedPaths: privileged ? [] : [...DEFAULT_MASKED_PATHS],
      readonlyPaths: privileged ? [] : [...DEFAULT_READONLY_PATHS],
      resources: {
        // Deny every device (runc then allows its default set: null, zero, full, tty, random, urandom, pts),
        // or, privileged, allow them all.
        devices: [{ allow: privileged, access: 'rwm' }],
        ...cgroupResources(spec.resources, { swapLimit: options.swapLimit }),
      },
    },
  };
  if (options.seccomp && !privileged && security.seccompProfile !== 'unconfined') {
    oci.linux.seccomp = seccompFromDockerProfile(options.seccomp.profile, {
      capabilities,
      arch: options.seccomp.arch,
      kernel: options.seccomp.kernel,
    });
  }
  return oci;
}

/** Every check buildOciSpec makes that needs no rootfs: run before anything is created on disk. */
export function checkSpecForHost(spec: ContainerSpec, image: ImageConfigSummary, host: Pick<OciSpecOptions, 'hostNofileHardLimit' | 'hostRlimits'>): void {
  resolveProcessArgs(spec, image);
  workingDir(spec, image);
  containerCapabilities(spec.security);
  containerRlimits(spec, host);
  cgroupResources(spec.resources);
  shmSize(spec.resources);
}

function containerRlimits(spec: ContainerSpec, host: Pick<OciSpecOptions, 'hostNofileHardLimit' | 'hostRlimits'>): OciRlimit[] {
  const nofileHard = Math.min(NOFILE_HARD, host.hostNofileHardLimit);
  return processRlimits(
    spec.resources?.ulimits,
    { ...host.hostRlimits, nofile: host.hostNofileHardLimit },
    { soft: Math.min(NOFILE_SOFT, nofileHard), hard: nofileHard },
  );
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
  const args = spec.entrypoint !== undefined ? [...spec.entrypoint, ...(spec.cmd ?? [])] : [...(image.entrypoint ?? []), ...(spec.cmd ?? image.cmd ?? [])];
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
export function containerEnv(imageEnv: string[] | undefined, specEnv: string[] | undefined, defaults: { hostname: string; home: string }): string[] {
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
    throw new InvalidArgumentError(`invalid environment entry ${JSON.stringify(entry)}`, [{ field: 'env', message: 'expected KEY=value' }]);
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

/** Fresh namespaces as Docker makes them; the network one joined at `network` (a path), or the host's (`host`). */
function namespaces(cgroupVersion: 1 | 2 | undefined, network?: string): { type: string; path?: string }[] {
  const list: { type: string; path?: string }[] = ['pid', 'ipc', 'uts', 'mount'].map((type) => ({ type }));
  if (network !== 'host') list.push(network ? { type: 'network', path: network } : { type: 'network' });
  return cgroupVersion === 2 ? [...list, { type: 'cgroup' }] : list;
}

function defaultMounts(options: { shmSizeBytes: number; privileged: boolean }): OciMount[] {
  const sysAccess = options.privileged ? 'rw' : 'ro';
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${options.shmSizeBytes}`] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', sysAccess] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', sysAccess] },
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

/**
 * The caller's mounts, after the defaults so that they win where they overlap:
 * binds (recursive, private, never setuid or device files), tmpfs as Docker makes
 * them (noexec, nosuid, nodev, sticky and world-writable).
 */
function userMounts(mounts: HostMount[] | undefined): OciMount[] {
  return (mounts ?? []).map((m) =>
    m.type === 'tmpfs'
      ? {
          destination: m.destination,
          type: 'tmpfs',
          source: 'tmpfs',
          options: ['nosuid', 'noexec', 'nodev', 'mode=1777', ...(m.sizeBytes ? [`size=${m.sizeBytes}`] : []), m.readOnly ? 'ro' : 'rw'],
        }
      : { destination: m.destination, type: 'bind', source: m.source!, options: ['rbind', 'rprivate', 'nosuid', 'nodev', m.readOnly ? 'ro' : 'rw'] },
  );
}

// ---------------------------------------------------------------------------------------------
// Users: `uid`, `uid:gid`, `name`, `name:group`, looked up in the image's /etc/passwd and /etc/group.

export interface UserDatabase {
  passwd?: string;
  group?: string;
}

/** Resolves a user against the rootfs's /etc/passwd and /etc/group (symlinks there are not followed). */
export async function resolveUser(userSpec: string | undefined, rootfsDir: string): Promise<ResolvedUser> {
  return resolveUserFromDatabase(userSpec, await readUserDatabase(rootfsDir));
}

/** The rootfs's /etc/passwd and /etc/group, as far as they are plain files. */
export async function readUserDatabase(rootfsDir: string): Promise<UserDatabase> {
  const [passwd, group] = await Promise.all([readEtcFile(rootfsDir, 'passwd'), readEtcFile(rootfsDir, 'group')]);
  return { passwd, group };
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
    ? [...new Set(groups.filter((g) => (g[3] ?? '').split(',').includes(name)).map((g) => Number(g[2])))].filter((g) => g !== gid && Number.isInteger(g))
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

// ---------------------------------------------------------------------------------------------
// exec: a process built like the container's own.

export interface ExecProcessParams {
  cmd: string[];
  env?: string[];
  workingDir?: string;
}

/**
 * The process of `runc exec --process`: the container's process (capabilities,
 * no-new-privileges, rlimits, user) with the command, the environment merged over
 * the container's, the working directory and, when one was asked for, the user.
 */
export function buildExecProcess(container: OciProcess, params: ExecProcessParams, user?: ResolvedUser): OciProcess {
  if (!Array.isArray(params.cmd) || params.cmd.length === 0 || params.cmd[0] === '') {
    throw new InvalidArgumentError('no command specified', [{ field: 'cmd', message: 'exec needs a command' }], 'NoCommandSpecified');
  }
  const merged = new Map<string, string>();
  for (const entry of [...container.env, ...(params.env ?? [])]) merged.set(envKey(entry), entry);
  const cwd = params.workingDir || container.cwd;
  if (!cwd.startsWith('/')) {
    throw new InvalidArgumentError(`the working directory ${JSON.stringify(cwd)} is invalid, it needs to be an absolute path`, [
      { field: 'workingDir', message: 'must be an absolute path' },
    ]);
  }
  return {
    ...container,
    terminal: false,
    args: [...params.cmd],
    env: [...merged.values()],
    cwd,
    user: user ? { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) } : container.user,
  };
}
