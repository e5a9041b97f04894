import { Injectable } from '@nestjs/common';
import { FailedPreconditionError, JobName, Operation, Volume, newId, jobFor } from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { Transactions } from '../database/transactions';
import { HostsService } from '../hosts/hosts.service';
import { JobProducer } from '../operations/job-producer.service';
import { OperationsService } from '../operations/operations.service';
import { VolumesRepository } from './volumes.repository';

export interface VolumesRemoved {
  deleted: string[];
  operations: Operation[];
}

/** Deleting volumes: the rows go at once, their data goes from each host by a `volume.remove` operation. */
@Injectable()
export class VolumeRemovals {
  constructor(
    private readonly volumes: VolumesRepository,
    private readonly tx: Transactions,
    private readonly hosts: HostsService,
    private readonly operations: OperationsService,
    private readonly producer: JobProducer,
  ) {}

  /** Refused while any container of the team mounts it; the data goes from the host afterwards. */
  async remove(auth: AuthContext, idOrName: string): Promise<VolumesRemoved> {
    const volume = await this.volumes.get(auth, idOrName);
    const users = (await this.volumes.usersByVolume(auth)).get(volume.id) ?? [];
    if (users.length) {
      throw new FailedPreconditionError(`volume ${volume.name} is in use by container(s) ${users.map((c) => c.name).join(', ')}`, 'VolumeInUse');
    }
    return this.drop(auth, [volume]);
  }

  /** Deletes every volume of the team no container mounts. */
  async prune(auth: AuthContext): Promise<VolumesRemoved> {
    const users = await this.volumes.usersByVolume(auth);
    const unused = (await this.volumes.all(auth)).filter((v) => !users.has(v.id));
    return this.drop(auth, unused);
  }

  /** One operation per host removes the data; enqueued once the rows are gone. */
  private async drop(auth: AuthContext, volumes: Volume[]): Promise<VolumesRemoved> {
    if (!volumes.length) return { deleted: [], operations: [] };
    const byHost = new Map<string, Volume[]>();
    for (const v of volumes) byHost.set(v.hostId, [...(byHost.get(v.hostId) ?? []), v]);
    const operations: Operation[] = [];
    await this.tx.run(async () => {
      await this.volumes.delete(
        auth,
        volumes.map((v) => v.id),
      );
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
}
