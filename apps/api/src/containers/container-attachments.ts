import { Injectable } from '@nestjs/common';
import { ContainerMount, ContainerSpec, NetworkMode, NetworkRequest, PublishedPort } from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { NetworksService } from '../networks/networks.service';
import { VolumesService } from '../volumes/volumes.service';

export interface WantedAttachments {
  mounts: ContainerMount[];
  networkMode: NetworkMode;
  networkRequests: NetworkRequest[];
  ports: PublishedPort[];
}

/** What a new container is attached to on its host: volumes, addresses on networks, published ports. */
@Injectable()
export class ContainerAttachments {
  constructor(
    private readonly volumes: VolumesService,
    private readonly networks: NetworksService,
  ) {}

  /**
   * Inside the create's transaction: the volumes the mounts name (made when
   * missing), and in bridge mode the container's addresses and its ports checked
   * free on the host. Answers the parts of the spec they fill in.
   */
  async attach(
    auth: AuthContext,
    hostId: string,
    containerId: string,
    wanted: WantedAttachments,
  ): Promise<Pick<ContainerSpec, 'mounts' | 'networks' | 'ports'>> {
    const parts: Pick<ContainerSpec, 'mounts' | 'networks' | 'ports'> = {};
    if (wanted.mounts.length) parts.mounts = await this.volumes.settleMounts(auth, wanted.mounts, hostId);
    if (wanted.networkMode === 'bridge') {
      parts.networks = await this.networks.allocate(auth.teamId, hostId, containerId, wanted.networkRequests);
      await this.networks.assertPortsFree(auth.teamId, hostId, wanted.ports);
      if (wanted.ports.length) parts.ports = wanted.ports;
    }
    return parts;
  }

  /** After the commit: the hosts hear of the networks' new members; nothing to wait for (it never throws). */
  announce(): void {
    void this.networks.flushSyncs();
  }
}
