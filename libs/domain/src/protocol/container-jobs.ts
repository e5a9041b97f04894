import { z } from 'zod';
import { ContainerNetworkSchema, ContainerResourcesSchema, ContainerSpecSchema, PublishedPortSchema } from '../container-spec';
import { DesiredState } from '../container-state';
import { count, id, list } from './fields';
import { SealedLoginSchema } from './sealing';

/** Jobs on one container: converging it to desired state, and the actions that are not desired state. */

/** When a create pulls its image: when the host lacks it (default), every time, or never. */
export const PullPolicy = ['missing', 'always', 'never'] as const;
export type PullPolicy = (typeof PullPolicy)[number];

/** What every operation on a container names. */
const containerOperation = {
  operationId: id('operation'),
  teamId: id('team'),
  containerId: id('container'),
};

/** Seconds between SIGTERM and SIGKILL when the container has to stop. */
const stopTimeoutSec = count().max(24 * 3600);

export const ContainerConvergeJobSchema = z.object({
  ...containerOperation,
  generation: count(),
  desired: z.enum(DesiredState),
  spec: ContainerSpecSchema,
  stopTimeoutSec,
  /** Set on the create job: whether to pull the image first, and the team's registry login sealed for this host. */
  pull: z.object({ policy: z.enum(PullPolicy), login: SealedLoginSchema.optional() }).optional(),
});
export type ContainerConvergeJob = z.infer<typeof ContainerConvergeJobSchema>;

export const ContainerSignalJobSchema = z.object({
  ...containerOperation,
  signal: z.string().regex(/^(SIG)?[A-Z0-9+-]{1,32}$|^[0-9]{1,3}$/, { error: 'must be a signal name like SIGTERM or a number' }),
});
export type ContainerSignalJob = z.infer<typeof ContainerSignalJobSchema>;

/** An action on an existing container that is not desired state (pause, unpause, restart, update). */
export const ContainerActionJobSchema = z.object(containerOperation);
export type ContainerActionJob = z.infer<typeof ContainerActionJobSchema>;

export const ContainerRestartJobSchema = z.object({ ...containerOperation, stopTimeoutSec });
export type ContainerRestartJob = z.infer<typeof ContainerRestartJobSchema>;

/** New limits for a container, applied in place. */
export const ContainerUpdateJobSchema = z.object({ ...containerOperation, resources: ContainerResourcesSchema });
export type ContainerUpdateJob = z.infer<typeof ContainerUpdateJobSchema>;

/** A container joined or left a network: its full list of networks now. */
export const ContainerNetworksJobSchema = z.object({
  ...containerOperation,
  networks: list(ContainerNetworkSchema, 256),
  ports: list(PublishedPortSchema, 4096),
});
export type ContainerNetworksJob = z.infer<typeof ContainerNetworksJobSchema>;
