import type { SerializedError } from './errors';

/**
 * The desired container, as the API stores it and as every job carries it: a job
 * holds everything the worker needs, so the worker never reads the database.
 */
export interface ContainerSpec {
  name: string;
  /** The reference as the caller wrote it, normalized (`docker.io/library/busybox:latest`). */
  image: string;
  /** The manifest digest the API resolved from the team's images, or the one pulled for it. */
  imageDigest?: string;
  /** When the image is pulled on create: `missing` (default), `always`, `never`. */
  pullPolicy?: 'missing' | 'always' | 'never';
  cmd?: string[];
  entrypoint?: string[];
  /** `KEY=value` pairs, applied over the image's environment. */
  env: string[];
  workingDir?: string;
  /** `user`, `uid`, `user:group` or `uid:gid`; names are looked up in the image's /etc/passwd and /etc/group. */
  user?: string;
  hostname?: string;
  labels: Record<string, string>;
  resources?: ContainerResources;
  security?: ContainerSecurity;
  /** Remove the container once its process exits (docker run --rm). */
  autoRemove?: boolean;
  restartPolicy?: RestartPolicy;
  healthcheck?: Healthcheck;
  mounts?: ContainerMount[];
  /** `bridge` (the default): the networks below; `none`: loopback only; `host`: the host's stack (by policy). */
  networkMode?: NetworkMode;
  /** The networks joined, with the addresses the API allocated (bridge mode). */
  networks?: ContainerNetwork[];
  /** Ports published on the host, through the first network. */
  ports?: PublishedPort[];
  /** The container's /etc/resolv.conf, where it differs from what its host would give it (docker run --dns…). */
  dns?: DnsConfig;
}

/** Each field given replaces what the host's resolv.conf says (as Docker's --dns, --dns-search, --dns-option). */
export interface DnsConfig {
  servers?: string[];
  search?: string[];
  options?: string[];
}

export const NetworkMode = ['bridge', 'none', 'host'] as const;
export type NetworkMode = (typeof NetworkMode)[number];

/** A network a container joins, as the worker needs it to wire the container up. */
export interface ContainerNetwork {
  networkId: string;
  name: string;
  bridge: string;
  subnet: string;
  gateway: string;
  internal: boolean;
  ipAddress: string;
  aliases: string[];
}

export interface PublishedPort {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  /** One host address; every address when absent. */
  hostIp?: string;
}

/**
 * A mount into the container. `volume`: a named volume of the team (`volumeId` is
 * filled in by the API); `bind`: a host path under one of the team's allowed
 * roots (`allowedRoot` is the one it matched, which the worker checks again after
 * resolving symlinks); `tmpfs`: memory, at most `tmpfsSizeBytes`.
 */
export interface ContainerMount {
  type: 'volume' | 'bind' | 'tmpfs';
  source?: string;
  target: string;
  readOnly?: boolean;
  tmpfsSizeBytes?: number;
  /**
   * A volume mount only: leave a new, empty volume empty. Otherwise, as with
   * Docker, what the image holds at `target` is copied into a volume that is
   * still empty when the container is created (Docker's `nocopy`).
   */
  noCopy?: boolean;
  volumeId?: string;
  allowedRoot?: string;
}

/** A command run in the container now and then; exit 0 is healthy. */
export interface Healthcheck {
  cmd: string[];
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures that make the container unhealthy. */
  retries: number;
  /** Failures in this first stretch after a start do not count. */
  startPeriodMs: number;
}

export const HealthStatus = ['starting', 'healthy', 'unhealthy'] as const;
export type HealthStatus = (typeof HealthStatus)[number];

export interface ContainerHealth {
  status: HealthStatus;
  failingStreak: number;
  /** The last check's output (first 4 KiB) and exit code. */
  lastOutput?: string;
  lastExitCode?: number;
  lastCheckAt?: string;
}

export const RestartPolicyName = ['no', 'on-failure', 'always', 'unless-stopped'] as const;
export type RestartPolicyName = (typeof RestartPolicyName)[number];

export interface RestartPolicy {
  name: RestartPolicyName;
  /** With on-failure: restarts at most this many times (0 or absent: no limit). */
  maxRetries?: number;
}

/** Limits enforced through cgroups (v1 and v2) and rlimits, named as on the API. */
export interface ContainerResources {
  memoryBytes?: number;
  /** Memory plus swap; -1 for unlimited swap. Defaults to twice the memory, as Docker does. */
  memorySwapBytes?: number;
  /** CPUs as a fraction (1.5 = one and a half CPUs), turned into quota/period. */
  cpus?: number;
  cpuShares?: number;
  /** `0-2,4` */
  cpusetCpus?: string;
  pidsLimit?: number;
  ulimits?: Ulimit[];
  shmSizeBytes?: number;
}

export interface Ulimit {
  /** `nofile`, `nproc`, `core`, … (without RLIMIT_) */
  name: string;
  soft: number;
  hard: number;
}

export interface ContainerSecurity {
  privileged?: boolean;
  /** `NET_ADMIN` or `CAP_NET_ADMIN`; `ALL` in drop removes every default. */
  capAdd?: string[];
  capDrop?: string[];
  readOnlyRootfs?: boolean;
  /** Defaults to true, as with Docker's --security-opt no-new-privileges. */
  noNewPrivileges?: boolean;
  /** `default` (Docker's profile) or `unconfined`. */
  seccompProfile?: 'default' | 'unconfined';
}

/** What the runtime reports of a container. */
export const ObservedStatus = ['created', 'running', 'paused', 'exited', 'removed', 'failed'] as const;
export type ObservedStatus = (typeof ObservedStatus)[number];

export interface ObservedContainer {
  status: ObservedStatus;
  /** The spec generation the worker last converged to. */
  generation?: number;
  pid?: number;
  exitCode?: number;
  oomKilled?: boolean;
  /** Restarts the worker made under the restart policy since the last start the user asked for. */
  restartCount?: number;
  /** Present when a health check runs (or ran) for this start. */
  health?: ContainerHealth;
  startedAt?: string;
  finishedAt?: string;
  error?: SerializedError;
}
