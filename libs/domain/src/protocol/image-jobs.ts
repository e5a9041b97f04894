import { z } from 'zod';
import { count, digest, id, imageReference, list } from './fields';
import { SealedLoginSchema } from './sealing';

/** Jobs on a host's image store: loads of uploaded tars, pulls, pushes and removals. */

const imageOperation = { operationId: id('operation'), teamId: id('team') };

export const ImageLoadJobSchema = z.object({
  ...imageOperation,
  uploadId: id('upload'),
  /** Path on the API (signed, expiring) from which the worker downloads the tar: the one call a worker makes to the API. */
  downloadPath: z
    .string()
    .max(1024)
    .regex(/^\/v1\/internal\/uploads\/upl_[0-9a-z]{26}\?[\x21-\x7e]*$/, { error: 'must be a signed upload link' }),
  sizeBytes: count(),
  sha256: z.string().regex(/^[a-f0-9]{64}$/, { error: 'must be 64 lower-case hex digits' }),
});
export type ImageLoadJob = z.infer<typeof ImageLoadJobSchema>;

/** Pulls one image onto the host for the team. */
export const ImagePullJobSchema = z.object({
  ...imageOperation,
  /** Normalized reference. */
  reference: imageReference(),
  /** `os/arch[/variant]`; the host's own platform when absent. */
  platform: z
    .string()
    .regex(/^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/, { error: 'must be os/architecture[/variant]' })
    .optional(),
  /** The team's login for the reference's registry, sealed for this host, when the team has one. */
  login: SealedLoginSchema.optional(),
});
export type ImagePullJob = z.infer<typeof ImagePullJobSchema>;

/** Pushes a stored image to the registry and tag `reference` names. */
export const ImagePushJobSchema = z.object({
  ...imageOperation,
  digest: digest(),
  reference: imageReference(),
  login: SealedLoginSchema.optional(),
});
export type ImagePushJob = z.infer<typeof ImagePushJobSchema>;

/**
 * Drops images from the host's store, then collects the blobs and layers nothing
 * refers to any more. `digests` names images no team holds on the host now (after a
 * delete); `keep` instead lists every image some team still holds (a prune), and
 * everything else goes. Either way an image a container on the host still uses
 * stays, and so does one stored again since `at` (a pull that raced the request).
 */
export const ImageRemoveJobSchema = z.object({
  ...imageOperation,
  digests: list(digest(), 100_000).optional(),
  keep: list(digest(), 100_000).optional(),
  /** When the API took its view of what teams hold (RFC 3339). */
  at: z.iso.datetime({ offset: true, error: 'must be an RFC 3339 time' }),
});
export type ImageRemoveJob = z.infer<typeof ImageRemoveJobSchema>;
