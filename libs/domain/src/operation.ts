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
] as const;
export type OperationKind = (typeof OperationKind)[number];

export const TargetKind = ['container', 'image'] as const;
export type TargetKind = (typeof TargetKind)[number];

export function isFinished(status: OperationStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}

export type OperationError = SerializedError;
