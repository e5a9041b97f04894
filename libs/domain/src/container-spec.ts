import { z } from 'zod';
import { SerializedErrorSchema } from './errors';
import { RESOURCE_NAME } from './ids';
import { absolutePath, count, digest, id, imageReference, ipv4, list, port, shortText, text, timestamp } from './protocol/fields';

/**
 * The desired container, as the API stores it and as every job carries it: a job
 * holds everything the worker needs, so the worker never reads the database. Each
 * shape is a schema; its type is inferred from it, and the worker checks every job
 * against it before acting.
 */

export const NetworkMode = ['bridge', 'none', 'host'] as const;
export type NetworkMode = (typeof NetworkMode)[number];

/** Each field given replaces what the host's resolv.conf says (as Docker's --dns, --dns-search, --dns-option). */
export const DnsConfigSchema = z.object({
  servers: list(shortText(256), 16).optional(),
  search: list(shortText(256), 16).optional(),
  options: list(shortText(256), 64).optional(),
});
export type DnsConfig = z.infer<typeof DnsConfigSchema>;

/** A network a container joins, as the worker needs it to wire the container up. */
export const ContainerNetworkSchema = z.object({
  networkId: id('network'),
  name: shortText(256),
  /** A Linux interface name: at most 15 characters. */
  bridge: z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/, { error: 'must be an interface name (at most 15 characters)' }),
  subnet: z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, { error: 'must be an IPv4 CIDR' }),
  gateway: ipv4(),
  internal: z.boolean(),
  ipAddress: ipv4(),
  aliases: list(shortText(256), 256),
});
export type ContainerNetwork = z.infer<typeof ContainerNetworkSchema>;

export const PublishedPortSchema = z.object({
  hostPort: port(),
  containerPort: port(),
  protocol: z.enum(['tcp', 'udp']),
  /** One host address; every address when absent. */
  hostIp: ipv4().optional(),
});
export type PublishedPort = z.infer<typeof PublishedPortSchema>;

/**
 * A mount into the container. `volume`: a named volume of the team (`volumeId` is
 * filled in by the API); `bind`: a host path under one of the team's allowed
 * roots (`allowedRoot` is the one it matched, which the worker checks again after
 * resolving symlinks); `tmpfs`: memory, at most `tmpfsSizeBytes`.
 */
export const ContainerMountSchema = z
  .object({
    type: z.enum(['volume', 'bind', 'tmpfs']),
    source: shortText().optional(),
    target: absolutePath(),
    readOnly: z.boolean().optional(),
    tmpfsSizeBytes: count().optional(),
    /**
     * A volume mount only: leave a new, empty volume empty. Otherwise, as with
     * Docker, what the image holds at `target` is copied into a volume that is
     * still empty when the container is created (Docker's `nocopy`).
     */
    noCopy: z.boolean().optional(),
    volumeId: id('volume').optional(),
    allowedRoot: absolutePath().optional(),
  })
  .superRefine((m, ctx) => {
    // A bind mount's source is a path on the host: the one place a job names one.
    if (m.type === 'bind' && !absolutePath().safeParse(m.source).success)
      ctx.addIssue({ code: 'custom', path: ['source'], message: 'must be an absolute path without ..' });
  });
export type ContainerMount = z.infer<typeof ContainerMountSchema>;

/** A command run in the container now and then; exit 0 is healthy. */
export const HealthcheckSchema = z.object({
  cmd: list(shortText(), 1024),
  intervalMs: count(),
  timeoutMs: count(),
  /** Consecutive failures that make the container unhealthy. */
  retries: count(),
  /** Failures in this first stretch after a start do not count. */
  startPeriodMs: count(),
});
export type Healthcheck = z.infer<typeof HealthcheckSchema>;

export const HealthStatus = ['starting', 'healthy', 'unhealthy'] as const;
export type HealthStatus = (typeof HealthStatus)[number];

export const ContainerHealthSchema = z.object({
  status: z.enum(HealthStatus),
  failingStreak: count(),
  /** The last check's output (first 4 KiB) and exit code. */
  lastOutput: text().optional(),
  lastExitCode: z.number().int().optional(),
  lastCheckAt: timestamp().optional(),
});
export type ContainerHealth = z.infer<typeof ContainerHealthSchema>;

export const RestartPolicyName = ['no', 'on-failure', 'always', 'unless-stopped'] as const;
export type RestartPolicyName = (typeof RestartPolicyName)[number];

export const RestartPolicySchema = z.object({
  name: z.enum(RestartPolicyName),
  /** With on-failure: restarts at most this many times (0 or absent: no limit). */
  maxRetries: count().optional(),
});
export type RestartPolicy = z.infer<typeof RestartPolicySchema>;

export const UlimitSchema = z.object({
  /** `nofile`, `nproc`, `core`, … (without RLIMIT_) */
  name: z.string().regex(/^[a-z]{1,16}$/, { error: 'must be an rlimit name such as nofile' }),
  soft: z.number().int().min(-1),
  hard: z.number().int().min(-1),
});
export type Ulimit = z.infer<typeof UlimitSchema>;

/** Limits enforced through cgroups (v1 and v2) and rlimits, named as on the API. */
export const ContainerResourcesSchema = z.object({
  memoryBytes: count().optional(),
  /** Memory plus swap; -1 for unlimited swap. Defaults to twice the memory, as Docker does. */
  memorySwapBytes: z.number().int().min(-1).optional(),
  /** CPUs as a fraction (1.5 = one and a half CPUs), turned into quota/period. */
  cpus: z.number().positive().max(1024).optional(),
  cpuShares: count().optional(),
  /** `0-2,4` */
  cpusetCpus: z
    .string()
    .max(256)
    .regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, { error: 'must look like 0-2,4' })
    .optional(),
  pidsLimit: count().optional(),
  ulimits: list(UlimitSchema, 64).optional(),
  shmSizeBytes: count().optional(),
});
export type ContainerResources = z.infer<typeof ContainerResourcesSchema>;

export const ContainerSecuritySchema = z.object({
  privileged: z.boolean().optional(),
  /** `NET_ADMIN` or `CAP_NET_ADMIN`; `ALL` in drop removes every default. */
  capAdd: list(shortText(64), 128).optional(),
  capDrop: list(shortText(64), 128).optional(),
  readOnlyRootfs: z.boolean().optional(),
  /** Defaults to true, as with Docker's --security-opt no-new-privileges. */
  noNewPrivileges: z.boolean().optional(),
  /** `default` (Docker's profile) or `unconfined`. */
  seccompProfile: z.enum(['default', 'unconfined']).optional(),
});
export type ContainerSecurity = z.infer<typeof ContainerSecuritySchema>;

export const ContainerSpecSchema = z.object({
  name: z.string().regex(RESOURCE_NAME, { error: 'must be a container name (letters, digits, _ . -, at most 128)' }),
  /** The reference as the caller wrote it, normalized (`docker.io/library/busybox:latest`). */
  image: imageReference(),
  /** The manifest digest the API resolved from the team's images, or the one pulled for it. */
  imageDigest: digest().optional(),
  /** When the image is pulled on create: `missing` (default), `always`, `never`. */
  pullPolicy: z.enum(['missing', 'always', 'never']).optional(),
  cmd: list(shortText(), 4096).optional(),
  entrypoint: list(shortText(), 4096).optional(),
  /** `KEY=value` pairs, applied over the image's environment. */
  env: list(text(), 4096),
  workingDir: shortText().optional(),
  /** `user`, `uid`, `user:group` or `uid:gid`; names are looked up in the image's /etc/passwd and /etc/group. */
  user: shortText(256).optional(),
  hostname: shortText(256).optional(),
  labels: z.record(shortText(1024), text()),
  resources: ContainerResourcesSchema.optional(),
  security: ContainerSecuritySchema.optional(),
  /** Remove the container once its process exits (docker run --rm). */
  autoRemove: z.boolean().optional(),
  restartPolicy: RestartPolicySchema.optional(),
  healthcheck: HealthcheckSchema.optional(),
  mounts: list(ContainerMountSchema, 256).optional(),
  /** `bridge` (the default): the networks below; `none`: loopback only; `host`: the host's stack (by policy). */
  networkMode: z.enum(NetworkMode).optional(),
  /** The networks joined, with the addresses the API allocated (bridge mode). */
  networks: list(ContainerNetworkSchema, 256).optional(),
  /** Ports published on the host, through the first network. */
  ports: list(PublishedPortSchema, 4096).optional(),
  /** The container's /etc/resolv.conf, where it differs from what its host would give it (docker run --dns…). */
  dns: DnsConfigSchema.optional(),
});
export type ContainerSpec = z.infer<typeof ContainerSpecSchema>;

/** What the runtime reports of a container. */
export const ObservedStatus = ['created', 'running', 'paused', 'exited', 'removed', 'failed'] as const;
export type ObservedStatus = (typeof ObservedStatus)[number];

export const ObservedContainerSchema = z.object({
  status: z.enum(ObservedStatus),
  /** The spec generation the worker last converged to. */
  generation: count().optional(),
  pid: count().optional(),
  exitCode: z.number().int().optional(),
  oomKilled: z.boolean().optional(),
  /** Restarts the worker made under the restart policy since the last start the user asked for. */
  restartCount: count().optional(),
  /** Present when a health check runs (or ran) for this start. */
  health: ContainerHealthSchema.optional(),
  startedAt: timestamp().optional(),
  finishedAt: timestamp().optional(),
  error: SerializedErrorSchema.optional(),
});
export type ObservedContainer = z.infer<typeof ObservedContainerSchema>;
