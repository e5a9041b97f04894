import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AlreadyExistsError, ContainerMount, FailedPreconditionError, Host, Volume, newId } from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { isUniqueViolation } from '../common/unique-violation';
import { Transactions } from '../database/transactions';
import { HostsService } from '../hosts/hosts.service';
import { WorkerRpc } from '../rpc/worker-rpc.service';
import { CreateVolumeDto } from './volume.dto';
import { VolumeUser, VolumesRepository } from './volumes.repository';

export interface VolumeView {
  volume: Volume;
  host?: Host;
  usedBy: VolumeUser[];
  sizeBytes: number | null;
}

const USAGE_TIMEOUT_MS = 5000;

/** Named volumes: made, listed and inspected; and the volumes a container create mounts. Removal is VolumeRemovals'. */
@Injectable()
export class VolumesService {
  constructor(
    private readonly volumes: VolumesRepository,
    private readonly tx: Transactions,
    private readonly hosts: HostsService,
    private readonly rpc: WorkerRpc,
  ) {}

  async create(auth: AuthContext, dto: CreateVolumeDto): Promise<Volume> {
    const host = dto.host ? await this.hosts.get(auth, dto.host) : await this.hosts.schedule(auth);
    return this.tx.run(() => this.insert(auth.teamId, host.id, dto.name, dto.labels ?? {}));
  }

  /** Inside the caller's transaction (a create that names a new volume makes it with the container). */
  async insert(teamId: string, hostId: string, name: string | undefined, labels: Record<string, string>): Promise<Volume> {
    const volume = Object.assign(new Volume(), {
      id: newId('volume'),
      teamId,
      name: name ?? randomBytes(16).toString('hex'),
      hostId,
      driver: 'local' as const,
      labels,
      createdAt: new Date(),
    });
    await this.volumes.insert({ teamId }, volume).catch((err) => {
      throw isUniqueViolation(err) ? new AlreadyExistsError(`a volume named "${volume.name}" already exists`, 'VolumeNameInUse') : err;
    });
    return volume;
  }

  async list(auth: AuthContext): Promise<VolumeView[]> {
    const volumes = await this.volumes.list(auth);
    const users = await this.volumes.usersByVolume(auth);
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
    return { volume, host, usedBy: (await this.volumes.usersByVolume(auth)).get(volume.id) ?? [], sizeBytes: usage?.sizeBytes ?? null };
  }

  /** By id or name, within the team (in the transaction in progress, if any). */
  find(auth: AuthContext, idOrName: string): Promise<Volume> {
    return this.volumes.get(auth, idOrName);
  }

  /**
   * The volumes a create's mounts name, made if missing (inside the create's
   * transaction), and the host they pin the container to.
   */
  async settleMounts(auth: AuthContext, mounts: ContainerMount[], hostId: string): Promise<ContainerMount[]> {
    const out: ContainerMount[] = [];
    for (const m of mounts) {
      if (m.type !== 'volume') {
        out.push(m);
        continue;
      }
      const existing = m.source ? await this.volumes.findByName(auth, m.source) : null;
      const volume = existing ?? (await this.insert(auth.teamId, hostId, m.source, {}));
      if (volume.hostId !== hostId) throw new FailedPreconditionError(`volume ${volume.name} lives on another host than the container`, 'VolumeOnOtherHost');
      out.push({ ...m, source: volume.name, volumeId: volume.id });
    }
    return out;
  }

  /** The one host the existing volumes among `mounts` live on, if any; 409 when they live apart. */
  async hostOfVolumes(auth: AuthContext, mounts: ContainerMount[]): Promise<string | undefined> {
    const names = mounts.filter((m) => m.type === 'volume' && m.source).map((m) => m.source!);
    if (!names.length) return undefined;
    const hostIds = [...new Set((await this.volumes.findByNames(auth, names)).map((v) => v.hostId))];
    if (hostIds.length > 1)
      throw new FailedPreconditionError('the volumes named live on different hosts; a container can mount volumes of one host only', 'VolumesOnDifferentHosts');
    return hostIds[0];
  }
}
