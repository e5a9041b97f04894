import type { ContainerNetwork, ContainerResources, ContainerSpec, ObservedContainer, PublishedPort } from './container-spec';
import type { DesiredState } from './container-state';
import type { OperationProgress, OperationStatus } from './operation';
import type { SerializedError } from './errors';

/**
 * The job catalogue: every job the API produces and a worker consumes, with its
 * payload type. Job ids are operation ids, so a re-enqueued operation is deduplicated.
 */
export enum JobName {
  ContainerConverge = 'container.converge',
  ContainerSignal = 'container.signal',
  ContainerPause = 'container.pause',
  ContainerUnpause = 'container.unpause',
  ContainerRestart = 'container.restart',
  ContainerUpdate = 'container.update',
  ImageLoad = 'image.load',
  ImagePull = 'image.pull',
  ImagePush = 'image.push',
  ImageRemove = 'image.remove',
  VolumeRemove = 'volume.remove',
  ContainerNetworks = 'container.networks',
  NetworkSync = 'network.sync',
}

export interface ContainerConvergeJob {
  operationId: string;
  teamId: string;
  containerId: string;
  generation: number;
  desired: DesiredState;
  spec: ContainerSpec;
  /** Seconds between SIGTERM and SIGKILL when the container has to stop. */
  stopTimeoutSec: number;
  /** Set on the create job: whether to pull the image first, and how to log in. */
  pull?: { policy: PullPolicy; credentialsPath?: string };
}

/** When a create pulls its image: when the host lacks it (default), every time, or never. */
export const PullPolicy = ['missing', 'always', 'never'] as const;
export type PullPolicy = (typeof PullPolicy)[number];

export interface ContainerSignalJob {
  operationId: string;
  teamId: string;
  containerId: string;
  signal: string;
}

/** An action on an existing container that is not desired state (pause, unpause, restart, update). */
export interface ContainerActionJob {
  operationId: string;
  teamId: string;
  containerId: string;
}

export interface ContainerRestartJob extends ContainerActionJob {
  stopTimeoutSec: number;
}

/** New limits for a container, applied in place. */
export interface ContainerUpdateJob extends ContainerActionJob {
  resources: ContainerResources;
}

export interface ImageLoadJob {
  operationId: string;
  teamId: string;
  uploadId: string;
  /** Path on the API (signed, expiring) from which the worker downloads the tar. */
  downloadPath: string;
  sizeBytes: number;
  sha256: string;
}

/** Pulls one image onto the host for the team. */
export interface ImagePullJob {
  operationId: string;
  teamId: string;
  /** Normalized reference. */
  reference: string;
  /** `os/arch[/variant]`; the host's own platform when absent. */
  platform?: string;
  /** A signed, expiring path on the API that answers the registry login, when the team has one. */
  credentialsPath?: string;
}

/** Pushes a stored image to the registry and tag `reference` names. */
export interface ImagePushJob {
  operationId: string;
  teamId: string;
  digest: string;
  reference: string;
  credentialsPath?: string;
}

/**
 * Drops images from the host's store, then collects the blobs and layers nothing
 * refers to any more. `digests` names images no team holds on the host now (after a
 * delete); `keep` instead lists every image some team still holds (a prune), and
 * everything else goes. Either way an image a container on the host still uses
 * stays, and so does one stored again since `at` (a pull that raced the request).
 */
export interface ImageRemoveJob {
  operationId: string;
  teamId: string;
  digests?: string[];
  keep?: string[];
  /** When the API took its view of what teams hold (RFC 3339). */
  at: string;
}

/** A container joined or left a network: its full list of networks now. */
export interface ContainerNetworksJob extends ContainerActionJob {
  networks: ContainerNetwork[];
  ports: PublishedPort[];
}

/**
 * A network's members as the control plane knows them, sent to every host that has
 * members on it whenever they change (a join, a leave, a rename). Not an operation:
 * it carries no operation id, and a newer revision makes an older one moot.
 */
export interface NetworkSyncJob {
  networkId: string;
  bridge: string;
  /** Grows with every change of the network's members; a host ignores anything older than what it has. */
  revision: number;
  /** The VXLAN network identifier of the network on every host. */
  vni: number;
  /** Every host with members on the network; those with an overlay address are reachable from the others. */
  hosts: NetworkSyncHost[];
  /** Every member of the network, on any host. */
  endpoints: NetworkSyncEndpoint[];
}

export interface NetworkSyncHost {
  hostId: string;
  name: string;
  overlayAddress?: string;
}

export interface NetworkSyncEndpoint {
  containerId: string;
  name: string;
  hostId: string;
  ipAddress: string;
  aliases: string[];
}

/** Removes a deleted volume's data from its host. */
export interface VolumeRemoveJob {
  operationId: string;
  teamId: string;
  volumeIds: string[];
}

/** What a registry login looks like on the wire between API and worker. */
export interface RegistryLogin {
  server: string;
  username: string;
  password: string;
}

export interface JobPayloads {
  [JobName.ContainerConverge]: ContainerConvergeJob;
  [JobName.ContainerSignal]: ContainerSignalJob;
  [JobName.ContainerPause]: ContainerActionJob;
  [JobName.ContainerUnpause]: ContainerActionJob;
  [JobName.ContainerRestart]: ContainerRestartJob;
  [JobName.ContainerUpdate]: ContainerUpdateJob;
  [JobName.ImageLoad]: ImageLoadJob;
  [JobName.ImagePull]: ImagePullJob;
  [JobName.ImagePush]: ImagePushJob;
  [JobName.ImageRemove]: ImageRemoveJob;
  [JobName.VolumeRemove]: VolumeRemoveJob;
  [JobName.ContainerNetworks]: ContainerNetworksJob;
  [JobName.NetworkSync]: NetworkSyncJob;
}

export const JOB_NAMES = Object.values(JobName) as JobName[];

/** Queue names (BullMQ forbids ':' in them). */
export const REPORTS_QUEUE = 'berth-reports';
export function hostQueueName(hostName: string): string {
  return `berth-host-${hostName}`;
}
/** A host's request list for synchronous calls (logs); replies go to a stream per request. */
export function hostRpcKey(hostName: string): string {
  return `berth:rpc:${hostName}`;
}
export function rpcReplyKey(requestId: string): string {
  return `berth:rpc-reply:${requestId}`;
}
/** Keystrokes and resizes for an interactive exec, from the API to the worker. */
export function rpcInputKey(requestId: string): string {
  return `berth:rpc-input:${requestId}`;
}
/** Kept alive by the API while the caller listens; the worker stops when it lapses. */
export function rpcAliveKey(requestId: string): string {
  return `berth:rpc-alive:${requestId}`;
}
/** Pub/sub channel on which the API replicas share events. */
export const EVENTS_CHANNEL = 'berth:events';

export interface HostInfo {
  name: string;
  cpus: number;
  memoryBytes: number;
  kernel: string;
  os: string;
  arch: string;
  runtime: string;
  runcVersion: string;
  conmonVersion: string;
  cgroupVersion: 1 | 2;
  workerVersion: string;
  startedAt: string;
  /** Where named volumes live on this host (`<dir>/<volume id>/_data`). */
  volumesDir?: string;
  /** The address other hosts send this host's VXLAN traffic to; no network spans to a host without one. */
  overlayAddress?: string;
}

export interface LoadedImage {
  /** Normalized references found in the tar (may be empty for an untagged image). */
  references: string[];
  digest: string;
  configDigest: string;
  sizeBytes: number;
  config: ImageConfigSummary;
  os: string;
  architecture: string;
  /** The config's build history, newest first. */
  history?: ImageHistoryEntry[];
}

/** One step of an image's build, as `docker history` lists it. */
export interface ImageHistoryEntry {
  created?: string;
  createdBy?: string;
  comment?: string;
  /** True for steps that made no layer (ENV, CMD, …). */
  emptyLayer: boolean;
  /** The compressed size of the layer this step made; 0 for empty layers. */
  sizeBytes: number;
}

export interface ImageConfigSummary {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  labels?: Record<string, string>;
  exposedPorts?: string[];
  stopSignal?: string;
}

/** Observed state, sent by workers on the reports queue and applied in order by the API. */
export type Report =
  | { kind: 'host.heartbeat'; host: HostInfo; at: string; inventory?: InventoryEntry[] }
  | {
      kind: 'operation';
      operationId: string;
      status: Extract<OperationStatus, 'running' | 'succeeded' | 'failed'>;
      error?: SerializedError;
      /** What the job produced (what a removal freed, what a push uploaded). */
      result?: Record<string, unknown>;
      at: string;
    }
  | { kind: 'operation.progress'; operationId: string; progress: OperationProgress; at: string }
  | { kind: 'container'; hostName: string; containerId: string; seq: number; observed: ObservedContainer; at: string }
  | { kind: 'images.loaded'; operationId: string; teamId: string; hostName: string; images: LoadedImage[]; at: string };

export interface InventoryEntry {
  containerId: string;
  seq: number;
  observed: ObservedContainer;
}

/** RPC between API and worker for reads that stream (logs). */
export interface LogsRequest {
  id: string;
  method: 'logs';
  containerId: string;
  params: LogParams;
}
export interface LogParams {
  stdout: boolean;
  stderr: boolean;
  tail?: number;
  since?: string;
  until?: string;
  follow: boolean;
}
export interface ExecRequest {
  id: string;
  method: 'exec';
  containerId: string;
  params: ExecParams;
}
export interface ExecParams {
  cmd: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  /** Seconds before the process is killed (its exit code is then 137). */
  timeoutSec: number;
}
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when the output went past the limit and was cut. */
  truncated: boolean;
}

/** Reads answered by the worker at once: stats and the process list. */
export interface InspectRequest {
  id: string;
  method: 'stats' | 'top';
  containerId: string;
}

export interface ContainerStats {
  read: string;
  cpu: { usageNanos: number; systemNanos?: number; onlineCpus: number; percent?: number };
  memory: { usageBytes: number; limitBytes?: number; cacheBytes?: number };
  pids: { current: number; limit?: number };
  blockIo: { readBytes: number; writeBytes: number };
  network?: { rxBytes: number; txBytes: number };
}

export interface ContainerProcess {
  pid: number;
  ppid: number;
  user: string;
  state: string;
  command: string;
  args: string[];
}

/** An interactive exec with a terminal: output streams back, input arrives on rpcInputKey. */
export interface TtyRequest {
  id: string;
  method: 'tty';
  containerId: string;
  params: Omit<ExecParams, 'timeoutSec'> & { cols: number; rows: number };
}
export type TtyInput = { t: 'in'; d: string } | { t: 'resize'; cols: number; rows: number } | { t: 'close' };

/** Streams a tar of stored images (docker load and OCI layout in one) back as binary chunks. */
export interface ExportRequest {
  id: string;
  method: 'export';
  images: Array<{ digest: string; references: string[] }>;
}

/** How much a volume holds on disk. */
export interface VolumeUsageRequest {
  id: string;
  method: 'volume.usage';
  volumeId: string;
}

export type RpcRequest = LogsRequest | ExecRequest | InspectRequest | TtyRequest | ExportRequest | VolumeUsageRequest;

export interface LogLine {
  stream: 'stdout' | 'stderr';
  time: string;
  line: string;
}
