import { z } from 'zod';
import type { SerializedError } from './errors';

export const OperationStatus = ['queued', 'running', 'succeeded', 'failed'] as const;
export type OperationStatus = (typeof OperationStatus)[number];

export const OperationKind = [
  'container.create',
  'container.start',
  'container.stop',
  'container.restart',
  'container.update',
  'container.kill',
  'container.pause',
  'container.unpause',
  'container.delete',
  'image.load',
  'image.pull',
  'image.push',
  'image.remove',
  'volume.remove',
  'container.connect',
  'container.disconnect',
] as const;
export type OperationKind = (typeof OperationKind)[number];

export const TargetKind = ['container', 'image', 'volume'] as const;
export type TargetKind = (typeof TargetKind)[number];

/** Progress of a transfer: layers and bytes done out of the total. */
export const OperationProgressSchema = z.object({
  layersDone: z.number().int().nonnegative(),
  layersTotal: z.number().int().nonnegative(),
  bytesDone: z.number().int().nonnegative(),
  bytesTotal: z.number().int().nonnegative(),
});
export type OperationProgress = z.infer<typeof OperationProgressSchema>;

export function isFinished(status: OperationStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}

export type OperationError = SerializedError;
