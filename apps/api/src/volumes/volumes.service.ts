import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, EntityManager, In } from 'typeorm';
import { AlreadyExistsError, Container, ContainerMount, FailedPreconditionError, Host, JobName, NotFoundError, Operation, Volume, newId } from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { HostsService } from '../hosts/hosts.service';
import { OperationsService } from '../operations/operations.service';
import { Transactions } from '../database/transactions';
import { JobProducer } from '../operations/job-producer';
import { jobFor } from '../operations/operation-queue';
import { WorkerRpc } from '../rpc/worker-rpc.service';
import { isUniqueViolation } from '../common/unique-violation';
import { CreateVolumeDto } from './volume.dto';

export interface VolumeView {
  volume: Volume;
  host?: Host;
  usedBy: Pick<Container, 'id' | 'name'>[];
  sizeBytes: number | null;
}

const USAGE_TIMEOUT_MS = 5000;

@Injectable()
export class VolumesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly hosts: HostsService,
    private readonly operations: OperationsService,
    private readonly producer: JobProducer,
    private readonly rpc: WorkerRpc,
    private readonly unitOfWork: Transactions,
  ) {}

  async create(auth: AuthContext, dto: CreateVolumeDto): Promise<Volume> {
    const host = dto.host ? await this.hosts.get(auth, dto.host) : await this.hosts.schedule(auth);
    return this.db.transaction((tx) => this.insert(tx, auth.teamId, host.id, dto.name, dto.labels ?? {}));
  }

  /** Inside the caller's transaction (a create that names a new volume makes it with the container). */
  async insert(tx: EntityManager, teamId: string, hostId: string, name: string | undefined, labels: Record<string, string>): Promise<Volume> {
    const volume = Object.assign(new Volume(), {
      id: newId('volume'),
      teamId,
      name: name ?? randomBytes(16).toString('hex'),
      hostId,
      driver: 'local' as const,
      labels,
      createdAt: new Date(),
    });
    await tx
      .getRepository(Volume)
      .insert(volume)
      .catch((err) => {
        throw isUniqueViolation(err) ? new AlreadyExistsError(`a volume named "${volume.name}" already exists`, 'VolumeNameInUse') : err;
      });
    return volume;
  }

  async list(auth: AuthContext): Promise<VolumeView[]> {
    const volumes = await this.db.getRepository(Volume).find({ where: { teamId: auth.teamId }, order: { createdAt: 'DESC' } });
    const users = await this.users(auth.teamId);
    const hosts = new Map((await this.hosts.list(auth)).map((h) => [h.id, h]));
    return volumes.map((volume) => ({ volume, host: hosts.get(volume.hostId), usedBy: users.get(volume.id) ?? [], sizeBytes: null }));
  }

  /** One volume, with what its host says it holds when the host answers in time. */
  async get(auth: AuthContext, idOrName: string): Promise<VolumeView> {
    const volume = await this.find(auth, idOrName);
    const host = await this.hosts.byId(volume.hostId);
    const usage =
      host.status === 'ready'
        ? await this.rpc.call<{ sizeBytes: number }>(host.name, { method: 'volume.usage', volumeId: volume.id }, USAGE_TIMEOUT_MS).catch(() => undefined)
        : undefined;
    return { volume, host, usedBy: (await this.users(auth.teamId)).get(volume.id) ?? [], sizeBytes: usage?.sizeBytes ?? null };
  }

  async find(auth: AuthContext, idOrName: string, tx?: EntityManager): Promise<Volume> {
    const repo = (tx ?? this.db.manager).getRepository(Volume);
    const found = await repo.findOne({
      where: [
        { teamId: auth.teamId, id: idOrName },
        { teamId: auth.teamId, name: idOrName },
      ],
    });
    if (!found) throw new NotFoundError(`volume ${idOrName} not found`, 'VolumeNotFound');
    return found;
  }

  /** Refused while any container of the team mounts it; the data goes from the host afterwards. */
  async remove(auth: AuthContext, idOrName: string): Promise<{ deleted: string[]; operations: Operation[] }> {
    const volume = await this.find(auth, idOrName);
    const users = (await this.users(auth.teamId)).get(volume.id) ?? [];
    if (users.length) {
      throw new FailedPreconditionError(`volume ${volume.name} is in use by container(s) ${users.map((c) => c.name).join(', ')}`, 'VolumeInUse');
    }
    return this.drop(auth, [volume]);
  }

  /** Deletes every volume of the team no container mounts. */
  async prune(auth: AuthContext): Promise<{ deleted: string[]; operations: Operation[] }> {
    const users = await this.users(auth.teamId);
    const unused = (await this.db.getRepository(Volume).find({ where: { teamId: auth.teamId } })).filter((v) => !users.has(v.id));
    return this.drop(auth, unused);
  }

  private async drop(auth: AuthContext, volumes: Volume[]): Promise<{ deleted: string[]; operations: Operation[] }> {
    if (!volumes.length) return { deleted: [], operations: [] };
    const byHost = new Map<string, Volume[]>();
    for (const v of volumes) byHost.set(v.hostId, [...(byHost.get(v.hostId) ?? []), v]);
    const operations: Operation[] = [];
    await this.db.transaction(async (tx) => {
      await tx.getRepository(Volume).delete({ teamId: auth.teamId, id: In(volumes.map((v) => v.id)) });
      for (const [hostId, list] of byHost) {
        const host = await this.hosts.byId(hostId);
        const operationId = newId('operation');
        const volumeIds = list.map((v) => v.id);
        operations.push(
          await this.operations.insert({
            id: operationId,
            teamId: auth.teamId,
            kind: 'volume.remove',
            targetKind: 'volume',
            targetId: volumeIds[0],
            hostId,
            job: jobFor(JobName.VolumeRemove, host.name, { operationId, teamId: auth.teamId, volumeIds }),
          }),
        );
      }
    });
    for (const op of operations) await this.producer.enqueue(op);
    return { deleted: volumes.map((v) => v.name), operations };
  }

  /** Volume id → the team's containers that mount it. */
  private async users(teamId: string): Promise<Map<string, Pick<Container, 'id' | 'name'>[]>> {
    const out = new Map<string, Pick<Container, 'id' | 'name'>[]>();
    for (const c of await this.db.getRepository(Container).find({ where: { teamId } })) {
      for (const m of c.spec.mounts ?? []) {
        if (m.type !== 'volume' || !m.volumeId) continue;
        out.set(m.volumeId, [...(out.get(m.volumeId) ?? []).filter((u) => u.id !== c.id), { id: c.id, name: c.name }]);
      }
    }
    return out;
  }

  /**
   * The volumes a create's mounts name, made if missing (inside the create's
   * transaction), and the host they pin the container to.
   */
  async settleMounts(auth: AuthContext, mounts: ContainerMount[], hostId: string, tx: EntityManager = this.unitOfWork.manager): Promise<ContainerMount[]> {
    const out: ContainerMount[] = [];
    for (const m of mounts) {
      if (m.type !== 'volume') {
        out.push(m);
        continue;
      }
      const existing = m.source ? await tx.getRepository(Volume).findOneBy({ teamId: auth.teamId, name: m.source }) : null;
      const volume = existing ?? (await this.insert(tx, auth.teamId, hostId, m.source, {}));
      if (volume.hostId !== hostId) throw new FailedPreconditionError(`volume ${volume.name} lives on another host than the container`, 'VolumeOnOtherHost');
      out.push({ ...m, source: volume.name, volumeId: volume.id });
    }
    return out;
  }

  /** The one host the existing volumes among `mounts` live on, if any; 409 when they live apart. */
  async hostOfVolumes(auth: AuthContext, mounts: ContainerMount[]): Promise<string | undefined> {
    const names = mounts.filter((m) => m.type === 'volume' && m.source).map((m) => m.source!);
    if (!names.length) return undefined;
    const volumes = await this.db.getRepository(Volume).find({ where: { teamId: auth.teamId, name: In(names) } });
    const hostIds = [...new Set(volumes.map((v) => v.hostId))];
    if (hostIds.length > 1)
      throw new FailedPreconditionError('the volumes named live on different hosts; a container can mount volumes of one host only', 'VolumesOnDifferentHosts');
    return hostIds[0];
  }
}
