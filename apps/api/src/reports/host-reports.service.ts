import { Injectable } from '@nestjs/common';
import { Host, InventoryEntry, ObservedContainer, SerializedError, statusFromObserved } from '@berth/domain';
import { HostsService } from '../hosts/hosts.service';
import { NetworksService } from '../networks/networks.service';
import { changesFromObserved, containerEvents } from './container-observations';
import { ContainerReportsRepository } from './container-reports.repository';
import { ReportOf, ReportOutcome } from './report-outcome';

/** What hosts report of themselves and their containers: heartbeats (with a restarted worker's inventory) and container observations. */
@Injectable()
export class HostReports {
  constructor(
    private readonly containers: ContainerReportsRepository,
    private readonly hosts: HostsService,
    private readonly networks: NetworksService,
  ) {}

  async heartbeat(report: ReportOf<'host.heartbeat'>, out: ReportOutcome): Promise<void> {
    const { host, previous } = await this.hosts.heartbeat(report.host, new Date(report.at));
    // A restarted worker, or one reached at a new address: the hosts of its networks hear of it again.
    if (report.inventory || previous?.overlayAddress !== report.host.overlayAddress) {
      await this.networks.touch(await this.networks.networksOf({ hostId: host.id }));
      out.membersChanged = true;
    }
    if (report.inventory) await this.inventory(host, report.inventory, out);
  }

  /** One observation of a container; an unknown (already deleted) container or a stale report changes nothing. */
  async container(id: string, seq: number, observed: ObservedContainer, out: ReportOutcome): Promise<void> {
    const c = await this.containers.find(id);
    if (!c || seq <= c.reportSeq) return;
    const next = statusFromObserved(c.status, observed.status);
    if (next === 'deleted') {
      await this.containers.remove(id);
      await this.networks.release(id); // its addresses are free again
      out.events.push({ type: 'container.deleted', id, teamId: c.teamId });
      return;
    }
    const update = changesFromObserved(c, next, seq, observed);
    await this.containers.update(id, update);
    out.events.push(...containerEvents(c, update));
  }

  /** After the commit: the hosts of the networks a report changed hear of it now rather than at the dispatcher's next turn. */
  async syncNetworks(out: ReportOutcome): Promise<void> {
    if (out.networksChanged) await this.networks.flushSyncs();
  }

  /** A restarted worker lists what it runs; containers it no longer has are gone. */
  private async inventory(host: Host, inventory: InventoryEntry[], out: ReportOutcome): Promise<void> {
    for (const entry of inventory) await this.container(entry.containerId, entry.seq, entry.observed, out);
    const present = new Set(inventory.map((e) => e.containerId));
    for (const c of await this.containers.activeOn(host.id)) {
      if (present.has(c.id)) continue;
      if (c.status === 'removing') {
        await this.containers.remove(c.id);
        await this.networks.release(c.id);
        out.events.push({ type: 'container.deleted', id: c.id, teamId: c.teamId });
      } else {
        const error: SerializedError = { class: 'NotFound', reason: 'ContainerLost', message: `host ${host.name} no longer has this container` };
        await this.containers.update(c.id, { status: 'failed', pid: null, error, updatedAt: new Date(), version: c.version + 1 });
        out.events.push({ type: 'container.failed', id: c.id, teamId: c.teamId, attributes: { name: c.name, error } });
      }
    }
  }
}
