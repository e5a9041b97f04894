import { Injectable } from '@nestjs/common';
import { ContainerConvergeJob, ContainerMount, FailedPreconditionError, Host, PullPolicy, parseImageReference } from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { HostsService } from '../hosts/hosts.service';
import { ImagesService } from '../images/images.service';
import { RegistriesService } from '../registries/registries.service';
import { VolumesService } from '../volumes/volumes.service';

export interface Placement {
  host: Host;
  /** The team's digest of the image, when it has the image (or the reference pins one). */
  imageDigest?: string;
}

/** Where a new container runs, and how its host gets the image. */
@Injectable()
export class ContainerPlacement {
  constructor(
    private readonly hosts: HostsService,
    private readonly volumes: VolumesService,
    private readonly images: ImagesService,
    private readonly registries: RegistriesService,
  ) {}

  /**
   * The host asked for (it must hold the volumes the container mounts), else the
   * volumes' host, else the scheduler's choice (a host that has the image, else the least loaded).
   */
  async place(auth: AuthContext, wanted: string | undefined, mounts: ContainerMount[], image: string): Promise<Placement> {
    const imageDigest = await this.images.resolveDigest(auth, image);
    const volumeHostId = await this.volumes.hostOfVolumes(auth, mounts);
    return { host: await this.host(auth, wanted, volumeHostId, imageDigest), imageDigest };
  }

  /** Nothing to pull with policy `never`; otherwise the policy and the team's login to the image's registry, if it has one, sealed for `host`. */
  async pull(auth: AuthContext, image: string, pullPolicy: PullPolicy, host: Host): Promise<ContainerConvergeJob['pull']> {
    if (pullPolicy === 'never') return undefined;
    return { policy: pullPolicy, login: await this.registries.sealedLoginFor(auth.teamId, parseImageReference(image).registry, host) };
  }

  private async host(auth: AuthContext, wanted: string | undefined, volumeHostId: string | undefined, imageDigest: string | undefined): Promise<Host> {
    if (!wanted)
      return volumeHostId
        ? this.hosts.assertReady(await this.hosts.byId(volumeHostId), "where the container's volumes live")
        : this.hosts.schedule(auth, imageDigest);
    const host = await this.hosts.get(auth, wanted);
    if (volumeHostId && volumeHostId !== host.id) {
      throw new FailedPreconditionError(`the volumes the container mounts live on another host than ${host.name}`, 'HostConflict');
    }
    return this.hosts.assertReady(host);
  }
}
