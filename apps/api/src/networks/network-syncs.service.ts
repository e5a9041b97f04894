import { Injectable, Logger } from '@nestjs/common';
import { Host, JobName, jobFor } from '@berth/domain';
import { Transactions } from '../database/transactions';
import { HostsService } from '../hosts/hosts.service';
import { JobProducer } from '../operations/job-producer.service';
import { NetworksRepository } from './networks.repository';

/**
 * Hosts learn a network's members from `network.sync` jobs: every change of the
 * members bumps the network's revision in the transaction that makes it, and
 * `flush` (after the commit, and from the dispatcher for anything a Redis outage
 * held back) sends each revision to every host with members on it.
 */
@Injectable()
export class NetworkSyncs {
  private readonly logger = new Logger('Networks');

  constructor(
    private readonly networks: NetworksRepository,
    private readonly tx: Transactions,
    private readonly hosts: HostsService,
    private readonly producer: JobProducer,
  ) {}

  /**
   * Sends every network whose members changed since its last sync to each host that
   * has members on it (one job per host and revision: sending twice is harmless).
   * Never throws: what could not be sent stays behind for the next call.
   */
  async flush(limit = 100): Promise<number> {
    try {
      let sent = 0;
      for (const network of await this.networks.pendingSyncs(limit)) {
        const { revision, job, hosts } = await this.tx.run(() => this.syncJob(network.id));
        for (const host of hosts) {
          await this.producer.add(jobFor(JobName.NetworkSync, host.name, job), `netsync-${network.id}-${revision}-${host.id}`);
        }
        await this.networks.markSynced(network.id, revision);
        sent++;
      }
      return sent;
    } catch (err) {
      this.logger.warn(`network syncs stay pending: ${(err as Error).message}`);
      return 0;
    }
  }

  /** The network's members now, as one consistent read with its revision. */
  private async syncJob(networkId: string) {
    const { network, endpoints } = await this.networks.syncSnapshot(networkId);
    const hosts: Host[] = [];
    for (const hostId of new Set(endpoints.map((e) => e.hostId))) hosts.push(await this.hosts.byId(hostId));
    hosts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const job = {
      networkId,
      bridge: network.bridge,
      revision: network.revision,
      vni: network.vni,
      hosts: hosts.map((h) => ({ hostId: h.id, name: h.name, ...(h.info?.overlayAddress ? { overlayAddress: h.info.overlayAddress } : {}) })),
      endpoints: endpoints.map((e) => ({ containerId: e.containerId, name: e.containerName, hostId: e.hostId, ipAddress: e.ipAddress, aliases: e.aliases })),
    };
    return { revision: network.revision, job, hosts };
  }
}
