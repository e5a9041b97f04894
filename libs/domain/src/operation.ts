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
export interface OperationProgress {
  layersDone: number;
  layersTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export function isFinished(status: OperationStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}

export type OperationError = SerializedError;
