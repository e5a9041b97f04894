import type {
  ContainerProcess,
  ContainerResources,
  ContainerSpec,
  ContainerStats,
  ExecParams,
  ExecResult,
  ImageConfigSummary,
  LogLine,
  LogParams,
} from '@berth/domain';

/** DI token for the runtime adapter a worker uses. */
export const CONTAINER_RUNTIME = Symbol('CONTAINER_RUNTIME');

/** An image ready to back a container: its config and its unpacked layers. */
export interface ResolvedImage {
  digest: string;
  config: ImageConfigSummary;
  /** Unpacked layer directories, bottom layer first. */
  layerDirs: string[];
}

export interface CreateContainerOptions {
  id: string;
  spec: ContainerSpec;
  image: ResolvedImage;
  /** Opaque metadata kept beside the container and returned by inspect/list. */
  metadata: Record<string, unknown>;
  /** Volumes, binds and tmpfs, with host paths already resolved and checked. */
  mounts?: HostMount[];
  /** Join this network namespace (made and wired by the host's networking) instead of a fresh one. */
  netnsPath?: string;
}

/** A mount with its host side settled: a bind of a host directory or file, or a tmpfs. */
export interface HostMount {
  type: 'bind' | 'tmpfs';
  /** The host path of a bind. */
  source?: string;
  destination: string;
  readOnly: boolean;
  /** A tmpfs's size limit; unlimited when absent. */
  sizeBytes?: number;
  /**
   * A volume's bind: when `source` is an empty directory at create, what the image
   * holds at `destination` is copied into it first (Docker's copy-up). Never for
   * a source that has anything in it. The copy is staged beside `source`, whose
   * parent must be Berth's alone (as a volume's `<id>/_data` is).
   */
  copyUp?: boolean;
}

export type RuntimeStatus = 'created' | 'running' | 'paused' | 'exited';

export interface ContainerInfo {
  id: string;
  status: RuntimeStatus;
  pid?: number;
  exitCode?: number;
  oomKilled?: boolean;
  /** RFC 3339 times. */
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  metadata: Record<string, unknown>;
}

export interface TtyExecParams extends Omit<ExecParams, 'timeoutSec'> {
  cols: number;
  rows: number;
}

/** A process running with a terminal. */
export interface TtySession {
  onData(listener: (chunk: string) => void): void;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /** Ends the process (SIGKILL to the exec'd process). */
  kill(): void;
  /** Its exit code, once it ends. */
  exited: Promise<number>;
}

export interface RuntimeCapabilities {
  tty: boolean;
  logs: boolean;
  signals: boolean;
  exec: boolean;
  stats: boolean;
  pause: boolean;
  /** Containers survive a restart of the worker (a monitor process owns them). */
  survivesWorkerRestart: boolean;
}

export type LogOptions = Partial<LogParams> & { signal?: AbortSignal };

/**
 * The port every runtime adapter implements (runc through conmon, containerd, a
 * fake for unit tests). Value types in and out; errors are domain errors
 * (NotFound for an unknown id, FailedPrecondition for a wrong state,
 * InvalidArgument for a spec the runtime cannot run, Unavailable for a transient
 * failure worth retrying).
 */
export interface ContainerRuntime {
  readonly name: string;
  capabilities(): RuntimeCapabilities;
  /** Versions of the tools behind the adapter, for host registration. */
  versions(): Promise<Record<string, string>>;

  /** Creates the container (rootfs, bundle, monitor) without starting it. */
  create(options: CreateContainerOptions): Promise<ContainerInfo>;
  /** Starts a created or exited container (an exited one runs again, same rootfs). */
  start(id: string): Promise<ContainerInfo>;
  /** Sends a signal (name like `SIGTERM` or `TERM`, or a number) to the init process. */
  kill(id: string, signal: string): Promise<void>;
  /** SIGTERM (or the image's stop signal), then SIGKILL after `timeoutSec`; resolves once exited. */
  stop(id: string, timeoutSec: number): Promise<ContainerInfo>;
  /** Removes everything the container owns on the host. `force` kills a running one first. */
  remove(id: string, options?: { force?: boolean }): Promise<void>;

  inspect(id: string): Promise<ContainerInfo>;
  list(): Promise<ContainerInfo[]>;
  /** Rewrites the container's /etc/hosts in place (its peers came or went). */
  setHosts?(id: string, content: string): Promise<void>;
  /** Resolves when the container is no longer running (immediately if it is not). */
  wait(id: string, signal?: AbortSignal): Promise<ContainerInfo>;
  /** Log lines in order; with `follow` it keeps going until the container exits or the signal aborts. */
  logs(id: string, options?: LogOptions): AsyncIterable<LogLine>;

  /**
   * Runs a process inside a running container and collects its output (1 MiB per
   * stream, then `truncated`). A command that cannot be started is an InvalidArgument
   * `CommandNotRunnable` (as at create; not Docker's exit code 126/127); a container
   * that is not running is a FailedPrecondition `ContainerNotRunning` (`ContainerPaused`
   * when paused). Past `timeoutSec` the process is killed and the exit code is 137.
   */
  exec(id: string, params: ExecParams): Promise<ExecResult>;
  /**
   * Runs a process with a terminal, for an interactive console: what it prints
   * arrives through `onData`, keystrokes go in through `write`. Adapters that cannot
   * do this leave it out (capabilities().tty is false).
   */
  execTty?(id: string, params: TtyExecParams): Promise<TtySession>;
  /** One sample of resource use, from the container's cgroup. */
  stats(id: string): Promise<ContainerStats>;
  /** The processes in the container. */
  top(id: string): Promise<ContainerProcess[]>;
  /** Freezes every process (cgroup freezer); unpause thaws them. */
  pause(id: string): Promise<ContainerInfo>;
  unpause(id: string): Promise<ContainerInfo>;
  /** Changes limits of a created or running container in place. */
  update(id: string, resources: ContainerResources): Promise<void>;

  /** Called when a container exits on its own (or after a kill/stop). Returns an unsubscribe function. */
  onExit(listener: (info: ContainerInfo) => void): () => void;
  close(): Promise<void>;
}
