import { z } from 'zod';
import { count, digest, id, imageReference, list, shortText, text } from './fields';

/**
 * Calls from the API to one host's worker over Redis (logs, exec, stats, a terminal,
 * image export, volume usage): the requests, and the shapes the worker answers with.
 */

/** A time as `Date#toISOString` writes it, any year included. */
const instant = () =>
  z
    .string()
    .max(64)
    .refine((s) => !Number.isNaN(Date.parse(s)), { error: 'must be a time' });

/** The API makes request ids (hex); they name Redis keys, so they are short and plain. */
const requestId = z.string().regex(/^[a-zA-Z0-9_-]{8,64}$/, { error: 'must be a request id' });

export const LogParamsSchema = z.object({
  stdout: z.boolean(),
  stderr: z.boolean(),
  tail: count().optional(),
  since: instant().optional(),
  until: instant().optional(),
  follow: z.boolean(),
});
export type LogParams = z.infer<typeof LogParamsSchema>;

const processParams = {
  cmd: list(shortText(), 4096),
  env: list(text(), 4096).optional(),
  user: shortText(256).optional(),
  workingDir: shortText().optional(),
};

export const ExecParamsSchema = z.object({
  ...processParams,
  /** Seconds before the process is killed (its exit code is then 137). */
  timeoutSec: count().max(24 * 3600),
});
export type ExecParams = z.infer<typeof ExecParamsSchema>;

const terminalSize = () => z.number().int().min(1).max(10_000);

export const LogsRequestSchema = z.object({ id: requestId, method: z.literal('logs'), containerId: id('container'), params: LogParamsSchema });
export type LogsRequest = z.infer<typeof LogsRequestSchema>;

export const ExecRequestSchema = z.object({ id: requestId, method: z.literal('exec'), containerId: id('container'), params: ExecParamsSchema });
export type ExecRequest = z.infer<typeof ExecRequestSchema>;

/** Reads answered by the worker at once: stats and the process list. */
export const InspectRequestSchema = z.object({ id: requestId, method: z.enum(['stats', 'top']), containerId: id('container') });
export type InspectRequest = z.infer<typeof InspectRequestSchema>;

/** An interactive exec with a terminal: output streams back, input arrives on rpcInputKey. */
export const TtyRequestSchema = z.object({
  id: requestId,
  method: z.literal('tty'),
  containerId: id('container'),
  params: z.object({ ...processParams, cols: terminalSize(), rows: terminalSize() }),
});
export type TtyRequest = z.infer<typeof TtyRequestSchema>;

/** Streams a tar of stored images (docker load and OCI layout in one) back as binary chunks. */
export const ExportRequestSchema = z.object({
  id: requestId,
  method: z.literal('export'),
  images: list(z.object({ digest: digest(), references: list(imageReference(), 4096) }), 4096),
});
export type ExportRequest = z.infer<typeof ExportRequestSchema>;

/** How much a volume holds on disk. */
export const VolumeUsageRequestSchema = z.object({ id: requestId, method: z.literal('volume.usage'), volumeId: id('volume') });
export type VolumeUsageRequest = z.infer<typeof VolumeUsageRequestSchema>;

export const RpcRequestSchema = z.discriminatedUnion('method', [
  LogsRequestSchema,
  ExecRequestSchema,
  InspectRequestSchema,
  TtyRequestSchema,
  ExportRequestSchema,
  VolumeUsageRequestSchema,
]);
export type RpcRequest = z.infer<typeof RpcRequestSchema>;

/** Keystrokes and resizes for a terminal, on the request's input list. */
export const TtyInputSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('in'), d: z.string().max(1024 * 1024) }),
  z.object({ t: z.literal('resize'), cols: terminalSize(), rows: terminalSize() }),
  z.object({ t: z.literal('close') }),
]);
export type TtyInput = z.infer<typeof TtyInputSchema>;

/** What the worker answers; the API reads these from the worker it trusts, so they are types only in use. */
export const ExecResultSchema = z.object({
  exitCode: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
  /** True when the output went past the limit and was cut. */
  truncated: z.boolean(),
});
export type ExecResult = z.infer<typeof ExecResultSchema>;

export const ContainerStatsSchema = z.object({
  read: z.string(),
  cpu: z.object({ usageNanos: z.number(), systemNanos: z.number().optional(), onlineCpus: z.number(), percent: z.number().optional() }),
  memory: z.object({ usageBytes: z.number(), limitBytes: z.number().optional(), cacheBytes: z.number().optional() }),
  pids: z.object({ current: z.number(), limit: z.number().optional() }),
  blockIo: z.object({ readBytes: z.number(), writeBytes: z.number() }),
  network: z.object({ rxBytes: z.number(), txBytes: z.number() }).optional(),
});
export type ContainerStats = z.infer<typeof ContainerStatsSchema>;

export const ContainerProcessSchema = z.object({
  pid: z.number().int(),
  ppid: z.number().int(),
  user: z.string(),
  state: z.string(),
  command: z.string(),
  args: z.array(z.string()),
});
export type ContainerProcess = z.infer<typeof ContainerProcessSchema>;

export const LogLineSchema = z.object({ stream: z.enum(['stdout', 'stderr']), time: z.string(), line: z.string() });
export type LogLine = z.infer<typeof LogLineSchema>;
