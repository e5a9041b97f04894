import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Not } from 'typeorm';
import {
  Container,
  FailedPreconditionError,
  Host,
  Image,
  ImagePullJob,
  InvalidArgumentError,
  JobName,
  LoadedImage,
  NotFoundError,
  Operation,
  UnavailableError,
  isDigest,
  newId,
  normalizeImageReference,
  parseImageReference,
} from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { HostsService } from '../hosts/hosts.service';
import { OperationsService } from '../operations/operations.service';
import { JobProducer } from '../operations/job-producer';
import { JobSpec, jobFor } from '../operations/operation-queue';
import { RegistriesService } from '../registries/registries.service';
import { UploadStore } from './upload-store';

/** One image of a team, as stored on one or more hosts (one row per host). */
export interface TeamImage {
  rows: Image[];
  /** The oldest row: its id names the image. */
  primary: Image;
  digest: string;
  references: string[];
  hostIds: string[];
}

export interface RemovedImages {
  untagged: string[];
  deleted: string[];
  operations: Operation[];
}

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

@Injectable()
export class ImagesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly hosts: HostsService,
    private readonly operations: OperationsService,
    private readonly producer: JobProducer,
    private readonly uploads: UploadStore,
    private readonly registries: RegistriesService,
  ) {}

  /** Stores the uploaded tar, then asks a host's worker to load it. */
  async load(auth: AuthContext, body: NodeJS.ReadableStream, hostRef?: string): Promise<{ operation: Operation; sizeBytes: number; sha256: string }> {
    const host = await this.readyHost(auth, hostRef);
    const upload = await this.uploads.save(body);
    try {
      const operation = await this.enqueue(auth, host, 'image.load', upload.id, (operationId) =>
        jobFor(JobName.ImageLoad, host.name, {
          operationId,
          teamId: auth.teamId,
          uploadId: upload.id,
          downloadPath: this.uploads.signedPath(upload.id),
          sizeBytes: upload.sizeBytes,
          sha256: upload.sha256,
        }),
      );
      return { operation, sizeBytes: upload.sizeBytes, sha256: upload.sha256 };
    } catch (err) {
      await this.uploads.remove(upload.id);
      throw err;
    }
  }

  /** Asks a host's worker to pull `reference` from its registry, with the team's login for that registry if it has one. */
  async pull(auth: AuthContext, reference: string, options: { host?: string; platform?: string } = {}): Promise<Operation> {
    const normalized = normalizeImageReference(reference, 'reference');
    if (options.platform !== undefined && !PLATFORM.test(options.platform)) {
      const message = 'platform must be os/architecture[/variant], e.g. linux/arm64 or linux/arm/v7';
      throw new InvalidArgumentError(message, [{ field: 'platform', message }], 'InvalidPlatform');
    }
    const host = await this.readyHost(auth, options.host);
    const payload: Omit<ImagePullJob, 'operationId'> = {
      teamId: auth.teamId,
      reference: normalized,
      platform: options.platform,
      login: await this.registries.sealedLoginFor(auth.teamId, parseImageReference(normalized).registry, host),
    };
    return this.enqueue(auth, host, 'image.pull', normalized, (operationId) => jobFor(JobName.ImagePull, host.name, { operationId, ...payload }));
  }

  /** Pushes the image `ref` names to `target` (default: `ref` itself, which must then be a reference). */
  async push(auth: AuthContext, ref: string, target?: string): Promise<Operation> {
    const image = await this.get(auth, ref);
    const reference = normalizeImageReference(target ?? (isReference(ref) ? ref : ''), target ? 'reference' : 'ref');
    const host = await this.hostHolding(auth, image);
    const login = await this.registries.sealedLoginFor(auth.teamId, parseImageReference(reference).registry, host);
    return this.enqueue(auth, host, 'image.push', reference, (operationId) =>
      jobFor(JobName.ImagePush, host.name, { operationId, teamId: auth.teamId, digest: image.digest, reference, login }),
    );
  }

  /** Gives the image another reference; a reference another image of the team had moves here (docker tag). */
  async tag(auth: AuthContext, ref: string, reference: string): Promise<TeamImage> {
    const normalized = normalizeImageReference(reference, 'reference');
    if (parseImageReference(normalized).digest) {
      const message = 'a tag cannot name a digest';
      throw new InvalidArgumentError(message, [{ field: 'reference', message }], 'InvalidReference');
    }
    const image = await this.get(auth, ref);
    await this.db.transaction(async (tx) => {
      const repo = tx.getRepository(Image);
      for (const row of await repo.find({ where: { teamId: auth.teamId } })) {
        const has = row.references.includes(normalized);
        if (row.digest === image.digest && !has) await repo.update({ id: row.id }, { references: [...row.references, normalized] });
        if (row.digest !== image.digest && has) await repo.update({ id: row.id }, { references: row.references.filter((r) => r !== normalized) });
      }
    });
    return this.get(auth, image.digest);
  }

  /**
   * docker rmi: a reference of an image that has others is only untagged; otherwise
   * the team's image goes (refused while a container of the team uses it, unless
   * forced), and hosts no team holds it on any more drop it from their stores.
   */
  async remove(auth: AuthContext, ref: string, force: boolean): Promise<RemovedImages> {
    const image = await this.get(auth, ref);
    if (isReference(ref) && image.references.length > 1) {
      const normalized = normalizeImageReference(ref, 'ref');
      await this.db.transaction(async (tx) => {
        for (const row of image.rows) await tx.getRepository(Image).update({ id: row.id }, { references: row.references.filter((r) => r !== normalized) });
      });
      return { untagged: [normalized], deleted: [], operations: [] };
    }
    if (!force) {
      const users = await this.containersUsing(auth.teamId, [image.digest]);
      if (users.length) {
        throw new FailedPreconditionError(
          `image ${ref} is used by container(s) ${users.map((c) => c.name).join(', ')}: delete them first, or delete with force=true`,
          'ImageInUse',
        );
      }
    }
    await this.db.getRepository(Image).delete({ teamId: auth.teamId, digest: image.digest });
    const operations = await this.cleanHosts(auth, image.hostIds, { digests: [image.digest] });
    return { untagged: image.references, deleted: [image.digest], operations };
  }

  /**
   * docker image prune: drops the team's untagged images (every image no container
   * of the team uses, with `all`), then has every ready host collect what no team
   * holds any more: records, blobs and unpacked layers.
   */
  async prune(auth: AuthContext, all: boolean): Promise<RemovedImages> {
    const images = await this.list(auth);
    const used = new Set(
      (
        await this.containersUsing(
          auth.teamId,
          images.map((i) => i.digest),
        )
      ).map((c) => c.spec.imageDigest),
    );
    const doomed = images.filter((i) => !used.has(i.digest) && (all || i.references.length === 0));
    if (doomed.length) await this.db.getRepository(Image).delete({ teamId: auth.teamId, digest: In(doomed.map((i) => i.digest)) });
    const hosts = (await this.hosts.list(auth)).filter((h) => h.status === 'ready');
    const operations = await this.cleanHosts(
      auth,
      hosts.map((h) => h.id),
      { keep: true },
    );
    return { untagged: doomed.flatMap((i) => i.references), deleted: doomed.map((i) => i.digest), operations };
  }

  /** Records what a worker loaded or pulled for a team; a reference moves to the newest image that carries it. */
  async recordLoaded(tx: EntityManager, teamId: string, hostId: string, images: LoadedImage[]): Promise<void> {
    const repo = tx.getRepository(Image);
    const incoming = new Set(images.flatMap((i) => i.references));
    for (const other of await repo.find({ where: { teamId, hostId } })) {
      const kept = other.references.filter((r) => !incoming.has(r));
      if (kept.length !== other.references.length && !images.some((i) => i.digest === other.digest)) {
        await repo.update({ id: other.id }, { references: kept });
      }
    }
    for (const img of images) {
      const existing = await repo.findOneBy({ teamId, hostId, digest: img.digest });
      if (existing) {
        await repo.update(
          { id: existing.id },
          { references: [...new Set([...existing.references, ...img.references])], history: img.history ?? existing.history },
        );
        continue;
      }
      await repo.insert({
        id: newId('image'),
        teamId,
        hostId,
        digest: img.digest,
        configDigest: img.configDigest,
        references: img.references,
        sizeBytes: img.sizeBytes,
        config: img.config,
        os: img.os,
        architecture: img.architecture,
        history: img.history ?? null,
        createdAt: new Date(),
      });
    }
  }

  /** The team's images, one per digest, newest first. */
  async list(auth: AuthContext): Promise<TeamImage[]> {
    const rows = await this.db.getRepository(Image).find({ where: { teamId: auth.teamId }, order: { createdAt: 'ASC' } });
    const byDigest = new Map<string, Image[]>();
    for (const row of rows) byDigest.set(row.digest, [...(byDigest.get(row.digest) ?? []), row]);
    return [...byDigest.values()]
      .map(teamImage)
      .sort((a, b) => b.primary.createdAt.getTime() - a.primary.createdAt.getTime() || (a.digest < b.digest ? -1 : 1));
  }

  /** By id, digest or reference, within the team. */
  async get(auth: AuthContext, ref: string): Promise<TeamImage> {
    const images = await this.list(auth);
    let found: TeamImage | undefined;
    if (/^img_/.test(ref)) found = images.find((i) => i.rows.some((r) => r.id === ref));
    else if (isDigest(ref)) found = images.find((i) => i.digest === ref);
    else {
      const normalized = normalizeImageReference(ref, 'ref');
      const at = normalized.indexOf('@');
      found = at >= 0 ? images.find((i) => i.digest === normalized.slice(at + 1)) : images.find((i) => i.references.includes(normalized));
    }
    if (!found) throw new NotFoundError(`image ${ref} not found`, 'ImageNotFound');
    return found;
  }

  /** The digest of the team's newest image known by this (normalized) reference; undefined when the team has none (containers go where their image is). */
  async digestOf(auth: AuthContext, reference: string): Promise<string | undefined> {
    const images = await this.db.getRepository(Image).find({ where: { teamId: auth.teamId }, order: { createdAt: 'DESC' } });
    return images.find((i) => i.references.includes(reference))?.digest;
  }

  /** A ready host that holds the image, for reads that need its bytes (export, push). */
  async hostHolding(auth: AuthContext, image: TeamImage): Promise<Host> {
    for (const id of image.hostIds) {
      const host = await this.hosts.byId(id);
      if (host.status === 'ready') return host;
    }
    throw new UnavailableError(`no ready host holds image ${image.digest}`, 'HostNotReady');
  }

  private async readyHost(auth: AuthContext, hostRef?: string): Promise<Host> {
    return this.hosts.assertReady(hostRef ? await this.hosts.get(auth, hostRef) : await this.hosts.schedule(auth));
  }

  private async enqueue(auth: AuthContext, host: Host, kind: Operation['kind'], target: string, job: (operationId: string) => JobSpec): Promise<Operation> {
    const operationId = newId('operation');
    const operation = await this.db.transaction((tx) =>
      this.operations.insert({
        id: operationId,
        teamId: auth.teamId,
        kind,
        targetKind: 'image',
        targetId: target.slice(0, 80),
        hostId: host.id,
        job: job(operationId),
      }),
    );
    await this.producer.enqueue(operation);
    return operation;
  }

  /**
   * One removal job per host: either the digests just deleted that no team holds
   * on the host any more, or (`keep`) the full list of what teams still hold there.
   */
  private async cleanHosts(auth: AuthContext, hostIds: string[], what: { digests: string[] } | { keep: true }): Promise<Operation[]> {
    const operations: Operation[] = [];
    const at = new Date().toISOString();
    for (const hostId of [...new Set(hostIds)]) {
      const host = await this.hosts.byId(hostId);
      if (host.status !== 'ready') continue; // a host that is away is cleaned by the next prune
      const held = await this.db.getRepository(Image).find({ where: { hostId }, select: { digest: true } });
      const heldDigests = [...new Set(held.map((r) => r.digest))];
      let scope: { digests: string[] } | { keep: string[] };
      if ('digests' in what) {
        const gone = what.digests.filter((d) => !heldDigests.includes(d));
        if (!gone.length) continue;
        scope = { digests: gone };
      } else {
        scope = { keep: heldDigests };
      }
      operations.push(
        await this.enqueue(auth, host, 'image.remove', host.name, (operationId) =>
          jobFor(JobName.ImageRemove, host.name, { operationId, teamId: auth.teamId, at, ...scope }),
        ),
      );
    }
    return operations;
  }

  private containersUsing(teamId: string, digests: string[]): Promise<Container[]> {
    if (!digests.length) return Promise.resolve([]);
    return this.db
      .getRepository(Container)
      .find({ where: { teamId, status: Not('failed') } })
      .then((all) => all.filter((c) => c.spec.imageDigest !== undefined && digests.includes(c.spec.imageDigest)));
  }
}

function teamImage(rows: Image[]): TeamImage {
  return {
    rows,
    primary: rows[0],
    digest: rows[0].digest,
    references: [...new Set(rows.flatMap((r) => r.references))],
    hostIds: rows.map((r) => r.hostId),
  };
}

/** A reference (as opposed to an image id or a bare digest). */
function isReference(ref: string): boolean {
  return !/^img_/.test(ref) && !isDigest(ref);
}
