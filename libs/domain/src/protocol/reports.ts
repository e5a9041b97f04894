import { z } from 'zod';
import { ObservedContainerSchema } from '../container-spec';
import { SerializedErrorSchema } from '../errors';
import { OperationProgressSchema } from '../operation';
import { count, digest, hostName, id, imageReference, ipv4, list, text, timestamp } from './fields';
import { SealingKeySchema } from './sealing';

/**
 * Observed state, sent by workers on the reports queue and applied in order by the
 * API. What an image's config says comes from the image's author: bounds here are
 * wider than on jobs (1 MiB a string), so that no real image is left unrecorded.
 */

const imageText = () => text(1024 * 1024);

export const HostInfoSchema = z.object({
  name: hostName(),
  cpus: count(),
  memoryBytes: count(),
  kernel: text(256),
  os: text(64),
  arch: text(64),
  runtime: text(64),
  runcVersion: text(256),
  conmonVersion: text(256),
  cgroupVersion: z.union([z.literal(1), z.literal(2)]),
  workerVersion: text(64),
  startedAt: timestamp(),
  /** Where named volumes live on this host (`<dir>/<volume id>/_data`). */
  volumesDir: text(4096).optional(),
  /** The address other hosts send this host's VXLAN traffic to; no network spans to a host without one. */
  overlayAddress: ipv4().optional(),
  /** The host's X25519 public key (base64): registry logins in its jobs are sealed to it. */
  sealingKey: SealingKeySchema.optional(),
});
export type HostInfo = z.infer<typeof HostInfoSchema>;

export const ImageConfigSummarySchema = z.object({
  entrypoint: list(imageText()).optional(),
  cmd: list(imageText()).optional(),
  env: list(imageText(), 16_384).optional(),
  workingDir: imageText().optional(),
  user: imageText().optional(),
  labels: z.record(imageText(), imageText()).optional(),
  exposedPorts: list(text(64), 65_536).optional(),
  stopSignal: text(64).optional(),
});
export type ImageConfigSummary = z.infer<typeof ImageConfigSummarySchema>;

/** One step of an image's build, as `docker history` lists it. */
export const ImageHistoryEntrySchema = z.object({
  created: imageText().optional(),
  createdBy: imageText().optional(),
  comment: imageText().optional(),
  /** True for steps that made no layer (ENV, CMD, …). */
  emptyLayer: z.boolean(),
  /** The compressed size of the layer this step made; 0 for empty layers. */
  sizeBytes: count(),
});
export type ImageHistoryEntry = z.infer<typeof ImageHistoryEntrySchema>;

export const LoadedImageSchema = z.object({
  /** Normalized references found in the tar (may be empty for an untagged image). */
  references: list(imageReference(), 4096),
  digest: digest(),
  configDigest: digest(),
  sizeBytes: count(),
  config: ImageConfigSummarySchema,
  os: text(64),
  architecture: text(64),
  /** The config's build history, newest first. */
  history: list(ImageHistoryEntrySchema, 16_384).optional(),
});
export type LoadedImage = z.infer<typeof LoadedImageSchema>;

export const InventoryEntrySchema = z.object({
  containerId: id('container'),
  seq: count(),
  observed: ObservedContainerSchema,
});
export type InventoryEntry = z.infer<typeof InventoryEntrySchema>;

export const ReportSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('host.heartbeat'), host: HostInfoSchema, at: timestamp(), inventory: list(InventoryEntrySchema, 100_000).optional() }),
  z.object({
    kind: z.literal('operation'),
    operationId: id('operation'),
    status: z.enum(['running', 'succeeded', 'failed']),
    error: SerializedErrorSchema.optional(),
    /** What the job produced (what a removal freed, what a push uploaded). */
    result: z.record(z.string().max(256), z.unknown()).optional(),
    at: timestamp(),
  }),
  z.object({ kind: z.literal('operation.progress'), operationId: id('operation'), progress: OperationProgressSchema, at: timestamp() }),
  z.object({
    kind: z.literal('container'),
    hostName: hostName(),
    containerId: id('container'),
    seq: count(),
    observed: ObservedContainerSchema,
    at: timestamp(),
  }),
  z.object({
    kind: z.literal('images.loaded'),
    operationId: id('operation'),
    teamId: id('team'),
    hostName: hostName(),
    images: list(LoadedImageSchema, 4096),
    at: timestamp(),
  }),
]);
export type Report = z.infer<typeof ReportSchema>;
