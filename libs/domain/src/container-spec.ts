import type { SerializedError } from './errors';

/**
 * The desired container, as the API stores it and as every job carries it: a job
 * holds everything the worker needs, so the worker never reads the database.
 */
export interface ContainerSpec {
  name: string;
  /** The reference as the caller wrote it, normalized (`docker.io/library/busybox:latest`). */
  image: string;
  /** The manifest digest the API resolved from the team's images, when it knew one. */
  imageDigest?: string;
  cmd?: string[];
  entrypoint?: string[];
  /** `KEY=value` pairs, applied over the image's environment. */
  env: string[];
  workingDir?: string;
  /** `user`, `uid`, `user:group` or `uid:gid`; names are looked up in the image's /etc/passwd and /etc/group. */
  user?: string;
  hostname?: string;
  labels: Record<string, string>;
}

/** What the runtime reports of a container. */
export const ObservedStatus = ['created', 'running', 'exited', 'removed', 'failed'] as const;
export type ObservedStatus = (typeof ObservedStatus)[number];

export interface ObservedContainer {
  status: ObservedStatus;
  /** The spec generation the worker last converged to. */
  generation?: number;
  pid?: number;
  exitCode?: number;
  oomKilled?: boolean;
  startedAt?: string;
  finishedAt?: string;
  error?: SerializedError;
}
