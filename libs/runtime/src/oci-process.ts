import { InvalidArgumentError } from '@berth/domain';
import type { ContainerSpec, ImageConfigSummary } from '@berth/domain';
import { processRlimits, type HostRlimits, type OciRlimit } from './oci-resources';
import type { ResolvedUser } from './oci-user';

/** The container's process: its command, environment, working directory and rlimits, and exec processes built like it. */

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** RLIMIT_NOFILE as Docker sets it, capped by what the host allows. */
export const NOFILE_SOFT = 1024;
export const NOFILE_HARD = 1048576;

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

/** What the host allows the container's rlimits. */
export interface HostLimits {
  /** The host's hard RLIMIT_NOFILE (from /proc/self/limits): never ask for more. */
  hostNofileHardLimit: number;
  /** The host's other hard limits; a ulimit above one is refused. Unknown ones are not checked. */
  hostRlimits?: HostRlimits;
}

/** Docker's RLIMIT_NOFILE (capped by the host's) and the requested ulimits, each checked against the host. */
export function containerRlimits(spec: ContainerSpec, host: HostLimits): OciRlimit[] {
  const nofileHard = Math.min(NOFILE_HARD, host.hostNofileHardLimit);
  return processRlimits(
    spec.resources?.ulimits,
    { ...host.hostRlimits, nofile: host.hostNofileHardLimit },
    { soft: Math.min(NOFILE_SOFT, nofileHard), hard: nofileHard },
  );
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

/** The request's working directory, else the image's, else `/`; it must be absolute. */
export function workingDir(spec: ContainerSpec, image: ImageConfigSummary): string {
  const dir = spec.workingDir || image.workingDir || '/';
  if (!dir.startsWith('/')) {
    throw new InvalidArgumentError(`the working directory ${JSON.stringify(dir)} is invalid, it needs to be an absolute path`, [
      { field: 'workingDir', message: 'must be an absolute path' },
    ]);
  }
  return dir;
}

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
