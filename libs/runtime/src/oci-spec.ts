import type { ContainerSpec, ImageConfigSummary } from '@berth/domain';
import type { HostMount } from './container-runtime';
import { defaultMounts, etcMounts, userMounts, type EtcFileSources, type OciMount } from './oci-mounts';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, namespaces } from './oci-namespaces';
import { containerEnv, containerRlimits, resolveProcessArgs, workingDir, type OciProcess } from './oci-process';
import { cgroupResources, shmSize, type HostRlimits, type OciLinuxResources } from './oci-resources';
import { containerCapabilities } from './oci-security';
import type { ResolvedUser } from './oci-user';
import { seccompFromDockerProfile, type DockerSeccompProfile, type OciSeccomp } from './seccomp';

export { DEFAULT_CAPABILITIES } from './oci-security';
export { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from './oci-namespaces';
export type { EtcFileSources, OciMount } from './oci-mounts';
export {
  buildExecProcess,
  containerEnv,
  DEFAULT_PATH,
  NOFILE_HARD,
  NOFILE_SOFT,
  resolveProcessArgs,
  type ExecProcessParams,
  type OciProcess,
} from './oci-process';
export { readUserDatabase, resolveUser, resolveUserFromDatabase, type ResolvedUser, type UserDatabase } from './oci-user';

/**
 * The OCI runtime-spec config.json of a container, with Docker's defaults: the
 * same namespaces, capabilities, mounts, masked and read-only paths. Pure apart
 * from `resolveUser`, which reads the image's /etc/passwd and /etc/group.
 */

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

/** The request's hostname, else the last 12 characters of the id (as Docker shortens its ids). */
export function containerHostname(id: string, spec: Pick<ContainerSpec, 'hostname'>): string {
  return spec.hostname || id.slice(-12);
}
