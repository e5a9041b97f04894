import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { Image, JobName, LoadedImage, NotFoundError, Operation, UnavailableError, isDigest, newId, normalizeImageReference } from '@berth/domain';
import { AuthContext } from '../auth/auth-context';
import { HostsService } from '../hosts/hosts.service';
import { OperationsService } from '../operations/operations.service';
import { JobProducer } from '../queue/job-producer';
import { jobFor } from '../queue/operation-queue';
import { UploadStore } from './upload-store';

@Injectable()
export class ImagesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly hosts: HostsService,
    private readonly operations: OperationsService,
    private readonly producer: JobProducer,
    private readonly uploads: UploadStore,
  ) {}

  /** Stores the uploaded tar, then asks a host's worker to load it. */
  async load(auth: AuthContext, body: NodeJS.ReadableStream, hostRef?: string): Promise<{ operation: Operation; sizeBytes: number; sha256: string }> {
    const host = hostRef ? await this.hosts.get(auth, hostRef) : await this.hosts.schedule(auth);
    if (host.status !== 'ready') throw new UnavailableError(`host ${host.name} is ${host.status}`, 'HostNotReady');
    const upload = await this.uploads.save(body);
    try {
      const operationId = newId('operation');
      const operation = await this.db.transaction((tx) =>
        this.operations.insert(tx, {
          id: operationId,
          teamId: auth.teamId,
          kind: 'image.load',
          targetKind: 'image',
          targetId: upload.id,
          hostId: host.id,
          job: jobFor(JobName.ImageLoad, host.name, {
            operationId,
            teamId: auth.teamId,
            uploadId: upload.id,
            downloadPath: this.uploads.signedPath(upload.id),
            sizeBytes: upload.sizeBytes,
            sha256: upload.sha256,
          }),
        }),
      );
      await this.producer.enqueue(operation);
      return { operation, sizeBytes: upload.sizeBytes, sha256: upload.sha256 };
    } catch (err) {
      await this.uploads.remove(upload.id);
      throw err;
    }
  }

  /** Records what a worker loaded for a team; a reference moves to the newest image that carries it. */
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
        await repo.update({ id: existing.id }, { references: [...new Set([...existing.references, ...img.references])] });
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
        createdAt: new Date(),
      });
    }
  }

  async list(auth: AuthContext): Promise<Image[]> {
    return this.db.getRepository(Image).find({ where: { teamId: auth.teamId }, order: { createdAt: 'DESC' } });
  }

  /** By id, digest or reference, within the team. */
  async get(auth: AuthContext, ref: string): Promise<Image> {
    const repo = this.db.getRepository(Image);
    let found: Image | null = null;
    if (/^img_/.test(ref)) found = await repo.findOneBy({ teamId: auth.teamId, id: ref });
    else if (isDigest(ref)) found = await repo.findOneBy({ teamId: auth.teamId, digest: ref });
    else {
      const normalized = normalizeImageReference(ref, 'ref');
      found = (await this.list(auth)).find((i) => i.references.includes(normalized)) ?? null;
    }
    if (!found) throw new NotFoundError(`image ${ref} not found`, 'ImageNotFound');
    return found;
  }

  async byIds(teamId: string, ids: string[]): Promise<Image[]> {
    return this.db.getRepository(Image).find({ where: { teamId, id: In(ids) } });
  }
}
