import { DataSource } from 'typeorm';
import { Container, Host, Image, LoadedImage, Operation, Team, newId } from '@berth/domain';
import type { NewOperation } from '../../operations/operations.service';

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

/** A container of `team` on `host` made from `imageDigest`. */
export async function seedContainer(db: DataSource, team: Team, host: Host, name: string, imageDigest: string, status: Container['status'] = 'running') {
  const now = new Date();
  const container = Object.assign(new Container(), {
    id: newId('container'),
    teamId: team.id,
    name,
    hostId: host.id,
    spec: { name, image: 'busybox', imageDigest, env: [], labels: {} },
    desiredState: 'running' as const,
    generation: 1,
    status,
    exitCode: null,
    pid: null,
    oomKilled: false,
    restartCount: 0,
    health: null,
    error: null,
    reportSeq: 0,
    startedAt: null,
    finishedAt: null,
    createdAt: now,
    updatedAt: now,
    version: 1,
  });
  await db.getRepository(Container).insert(container);
  return container;
}

/** What OperationsService#insert answers for `input`, without a database. */
export function operationFor(input: NewOperation): Operation {
  return Object.assign(new Operation(), {
    id: input.id ?? newId('operation'),
    teamId: input.teamId,
    kind: input.kind,
    targetKind: input.targetKind,
    targetId: input.targetId,
    hostId: input.hostId,
    status: 'queued' as const,
    error: null,
    job: input.job,
    result: null,
    progress: null,
    createdAt: new Date(),
    enqueuedAt: null,
    startedAt: null,
    finishedAt: null,
  });
}
