import { DataSource } from 'typeorm';
import { Host, Image, LoadedImage, Team, newId } from '@berth/domain';

/** `sha256:` and 64 hex digits made of `c`. */
export const digestOf = (c: string): string => `sha256:${c.repeat(64)}`;

/** An image as a worker reports it after a load or pull. */
export function loadedImage(digest: string, references: string[], extra: Partial<LoadedImage> = {}): LoadedImage {
  return {
    digest,
    references,
    configDigest: `sha256:${'f'.repeat(64)}`,
    sizeBytes: 1234,
    config: { cmd: ['sh'] },
    os: 'linux',
    architecture: 'amd64',
    ...extra,
  };
}

/** An image row of `team` on `host`. */
export async function seedImage(
  db: DataSource,
  team: Team,
  host: Host,
  digest: string,
  references: string[],
  createdAt = new Date(),
  extra: Partial<Image> = {},
): Promise<Image> {
  const image = Object.assign(new Image(), {
    id: newId('image'),
    teamId: team.id,
    hostId: host.id,
    digest,
    configDigest: `sha256:${'f'.repeat(64)}`,
    references,
    sizeBytes: 1234,
    config: { cmd: ['sh'] },
    os: 'linux',
    architecture: 'amd64',
    history: null,
    createdAt,
    ...extra,
  });
  await db.getRepository(Image).insert(image);
  return image;
}
