import { z } from 'zod';
import { id, list } from './fields';

/** Removes a deleted volume's data from its host. */
export const VolumeRemoveJobSchema = z.object({
  operationId: id('operation'),
  teamId: id('team'),
  volumeIds: list(id('volume'), 10_000),
});
export type VolumeRemoveJob = z.infer<typeof VolumeRemoveJobSchema>;
