import { z } from 'zod';
import { InvalidArgumentError } from '../errors';
import {
  ContainerActionJobSchema,
  ContainerConvergeJobSchema,
  ContainerNetworksJobSchema,
  ContainerRestartJobSchema,
  ContainerSignalJobSchema,
  ContainerUpdateJobSchema,
} from './container-jobs';
import { RpcRequest, RpcRequestSchema, TtyInput, TtyInputSchema } from './host-rpc';
import { ImageLoadJobSchema, ImagePullJobSchema, ImagePushJobSchema, ImageRemoveJobSchema } from './image-jobs';
import { NetworkSyncJobSchema } from './network-jobs';
import { Report, ReportSchema } from './reports';
import { VolumeRemoveJobSchema } from './volume-jobs';

/**
 * The host protocol: every message between the API and a host's worker, each a
 * schema that gives both its TypeScript type and its runtime check. Jobs go on the
 * host's BullMQ queue, reports come back on the reports queue, and reads that answer
 * at once or stream go over the host's Redis request list. Both sides check what
 * they receive with the parse functions below before acting on it.
 */
export * from './fields';
export * from './sealing';
export * from './container-jobs';
export * from './image-jobs';
export * from './network-jobs';
export * from './volume-jobs';
export * from './reports';
export * from './host-rpc';

/** Job ids are operation ids, so a re-enqueued operation is deduplicated. */
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

/** The job catalogue: each job's payload schema. */
export const JOB_SCHEMAS = {
  [JobName.ContainerConverge]: ContainerConvergeJobSchema,
  [JobName.ContainerSignal]: ContainerSignalJobSchema,
  [JobName.ContainerPause]: ContainerActionJobSchema,
  [JobName.ContainerUnpause]: ContainerActionJobSchema,
  [JobName.ContainerRestart]: ContainerRestartJobSchema,
  [JobName.ContainerUpdate]: ContainerUpdateJobSchema,
  [JobName.ImageLoad]: ImageLoadJobSchema,
  [JobName.ImagePull]: ImagePullJobSchema,
  [JobName.ImagePush]: ImagePushJobSchema,
  [JobName.ImageRemove]: ImageRemoveJobSchema,
  [JobName.VolumeRemove]: VolumeRemoveJobSchema,
  [JobName.ContainerNetworks]: ContainerNetworksJobSchema,
  [JobName.NetworkSync]: NetworkSyncJobSchema,
} as const satisfies Record<JobName, z.ZodType>;

export type JobPayloads = { [N in JobName]: z.infer<(typeof JOB_SCHEMAS)[N]> };

export const JOB_NAMES = Object.values(JobName) as JobName[];

export function isJobName(name: string): name is JobName {
  return Object.prototype.hasOwnProperty.call(JOB_SCHEMAS, name);
}

/**
 * Checks a job's payload against its schema: the payload as the schema reads it
 * (unknown fields dropped), or an InvalidArgumentError (reason MalformedJob) that
 * names every bad field.
 */
export function parseJob<N extends JobName>(name: N, data: unknown): JobPayloads[N];
export function parseJob(name: string, data: unknown): JobPayloads[JobName];
export function parseJob(name: string, data: unknown): JobPayloads[JobName] {
  if (!isJobName(name)) throw new InvalidArgumentError(`unknown job ${name}`, [{ field: 'name', message: 'is not a job of the catalogue' }], 'UnknownJob');
  return check(JOB_SCHEMAS[name], data, `${name} job`, 'MalformedJob');
}

/** Checks a report from a worker; InvalidArgumentError (reason MalformedReport) when it does not match. */
export function parseReport(data: unknown): Report {
  const kind = typeof (data as { kind?: unknown } | null)?.kind === 'string' ? String((data as { kind: string }).kind).slice(0, 64) : 'unknown';
  return check(ReportSchema, data, `${kind} report`, 'MalformedReport');
}

/** Checks a request on a host's RPC list; InvalidArgumentError (reason MalformedRequest) when it does not match. */
export function parseRpcRequest(data: unknown): RpcRequest {
  return check(RpcRequestSchema, data, 'rpc request', 'MalformedRequest');
}

export function parseTtyInput(data: unknown): TtyInput {
  return check(TtyInputSchema, data, 'terminal input', 'MalformedRequest');
}

function check<T extends z.ZodType>(schema: T, data: unknown, what: string, reason: string): z.infer<T> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const violations = parsed.error.issues.slice(0, 20).map((issue) => ({ field: issue.path.map(String).join('.') || '(payload)', message: issue.message }));
  const detail = violations.map((v) => `${v.field}: ${v.message}`).join('; ');
  throw new InvalidArgumentError(`malformed ${what}: ${detail}`, violations, reason);
}

/** Queue names (BullMQ forbids ':' in them). */
export const REPORTS_QUEUE = 'berth-reports';
export function hostQueueName(hostName: string): string {
  return `berth-host-${hostName}`;
}

/** A job as the API keeps it on its operation and puts it on a host's queue. */
export interface JobSpec<N extends JobName = JobName> {
  name: N;
  queue: string;
  payload: JobPayloads[N];
}

/** The job `name` with `payload` for the host named `hostName`. */
export function jobFor<N extends JobName>(name: N, hostName: string, payload: JobPayloads[N]): JobSpec<N> {
  return { name, queue: hostQueueName(hostName), payload };
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
