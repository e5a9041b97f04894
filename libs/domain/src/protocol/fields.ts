import { z } from 'zod';
import { IdKind, IdPrefix } from '../ids';
import { parseImageReference } from '../image-reference';

/**
 * The field types messages are built from. Bounds are generous (nothing the API
 * sends today comes near them) but finite: a host never takes an unbounded string
 * or list from the queue.
 */

/** Any free text in a message: at most 64 KiB. */
export const text = (max = 64 * 1024) => z.string().max(max);
/** A name, label value or argument: at most 4 KiB. */
export const shortText = (max = 4096) => z.string().max(max);
export const list = <T extends z.ZodType>(item: T, max = 4096) => z.array(item).max(max);

/** An id Berth handed out, with the prefix of its kind (`ctr_…`, `op_…`). */
export const id = (kind: IdKind) => z.string().regex(new RegExp(`^${IdPrefix[kind]}_[0-9a-hjkmnp-tv-z]{26}$`), { error: `must be a ${IdPrefix[kind]}_ id` });

export const digest = () => z.string().regex(/^sha256:[a-f0-9]{64}$/, { error: 'must be sha256: and 64 lower-case hex digits' });

/** A normalized image reference (`docker.io/library/busybox:latest`). */
export const imageReference = () =>
  z
    .string()
    .max(1024)
    .refine((value) => isImageReference(value), { error: 'must be an image reference' });

/** A host's name, as a worker registers it (and as its queue is named). */
export const hostName = () => z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, { error: 'must be a host name' });

/** RFC 3339, as `Date#toISOString` writes it (any offset is accepted). */
export const timestamp = () => z.iso.datetime({ offset: true, error: 'must be an RFC 3339 time' });

export const count = () => z.number().int().nonnegative();
export const port = () => z.number().int().min(1).max(65535);
export const ipv4 = () => z.ipv4({ error: 'must be an IPv4 address' });
/** An absolute path with no `..` step (mount targets, bind sources, working directories). */
export const absolutePath = () =>
  z
    .string()
    .max(4096)
    .refine((p) => p.startsWith('/') && !p.split('/').includes('..'), { error: 'must be an absolute path without ..' });

function isImageReference(value: string): boolean {
  try {
    parseImageReference(value, 'reference');
    return true;
  } catch {
    return false;
  }
}
