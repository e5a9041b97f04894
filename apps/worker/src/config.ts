import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

export interface WorkerConfig {
  hostName: string;
  dataDir: string;
  redisUrl: string;
  /** Where the API answers, for bulk downloads (uploaded image tars). */
  apiUrl: string;
  concurrency: number;
  heartbeatMs: number;
  logLevel: string;
  runcPath: string;
  conmonPath: string;
  /** Docker's default seccomp profile (Docker's JSON format). */
  seccompProfilePath: string;
  /** Registries spoken to over plain HTTP (loopback ones always may). */
  insecureRegistries: string[];
  /** An image stored this recently is spared by removals: a pull may have raced them. */
  imageRemovalGraceMs: number;
  /**
   * The address other hosts reach this one at for networks that span hosts (VXLAN):
   * an IPv4 address, `auto` (the address of the default route's link) or `off`.
   */
  overlayAddress: string;
  /** A network namespace (path) that plays the host for container networking; the worker's own when unset. */
  hostNetns?: string;
  /** How long a bridge no container on this host uses any more stays, so the next container finds it ready. */
  bridgeIdleMs: number;
}

const HOST_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const hostName = env.BERTH_HOST_NAME ?? hostname();
  if (!HOST_NAME.test(hostName)) throw new Error(`BERTH_HOST_NAME "${hostName}" must be letters, digits, _ . - (at most 63)`);
  if (!env.REDIS_URL) throw new Error('REDIS_URL is not set');
  return {
    hostName,
    dataDir: resolve(env.BERTH_WORKER_DATA_DIR ?? join(env.BERTH_DATA_DIR ?? '/var/lib/berth', 'worker')),
    redisUrl: env.REDIS_URL,
    apiUrl: (env.BERTH_API_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, ''),
    concurrency: Number(env.BERTH_WORKER_CONCURRENCY ?? 8),
    heartbeatMs: Number(env.BERTH_HEARTBEAT_MS ?? 5000),
    logLevel: env.LOG_LEVEL ?? 'info',
    runcPath: env.BERTH_RUNC_PATH ?? '/usr/bin/runc',
    conmonPath: env.BERTH_CONMON_PATH ?? '/usr/bin/conmon',
    seccompProfilePath: env.BERTH_SECCOMP_PROFILE ?? '/usr/share/berth/seccomp/default.json',
    imageRemovalGraceMs: Number(env.BERTH_IMAGE_REMOVAL_GRACE_MS ?? 10_000),
    overlayAddress: overlayAddress(env.BERTH_OVERLAY_ADDRESS),
    bridgeIdleMs: milliseconds('BERTH_BRIDGE_IDLE_MS', env.BERTH_BRIDGE_IDLE_MS, 30_000),
    ...(env.BERTH_HOST_NETNS ? { hostNetns: env.BERTH_HOST_NETNS } : {}),
    insecureRegistries: (env.BERTH_INSECURE_REGISTRIES ?? '')
      .split(',')
      .map((r) => r.trim().toLowerCase())
      .filter(Boolean),
  };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function overlayAddress(value: string | undefined): string {
  const v = (value ?? 'auto').trim().toLowerCase();
  if (v === 'auto' || v === 'off' || IPV4.test(v)) return v;
  throw new Error(`BERTH_OVERLAY_ADDRESS "${value}" must be an IPv4 address, auto or off`);
}

function milliseconds(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`${name} "${value}" must be a whole number of milliseconds, 0 or more`);
  return ms;
}
