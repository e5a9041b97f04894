import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { FailedPreconditionError, Host, HostInfo, NotFoundError, UnavailableError, newId } from '@berth/domain';
import { AuthContext, TeamScope } from '../common/auth-context';
import { Transactions } from '../database/transactions';
import { AuthService } from '../teams/auth.service';
import { HostsRepository } from './hosts.repository';

/** A host is unreachable after this long without a heartbeat, and down after the second. */
export const UNREACHABLE_AFTER_MS = 15_000;
export const DOWN_AFTER_MS = 60_000;

@Injectable()
export class HostsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Hosts');
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly hosts: HostsRepository,
    private readonly tx: Transactions,
    private readonly auth: AuthService,
  ) {}

  onModuleInit(): void {
    this.sweeper = setInterval(() => this.sweep().catch((e) => this.logger.warn(`liveness sweep: ${e.message}`)), 5000);
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  /** Applies a worker's heartbeat, in the caller's transaction if any: registers the host the first time; answers the host and what it reported before (none the first time). */
  async heartbeat(info: HostInfo, at: Date): Promise<{ host: Host; previous?: HostInfo }> {
    const pool = await this.sharedPool();
    const existing = await this.hosts.findByName(pool, info.name);
    if (existing) {
      if (existing.status !== 'ready') this.logger.log(`host ${info.name} is ready again`);
      await this.hosts.recordHeartbeat(pool, existing.id, { info, status: 'ready', lastHeartbeatAt: at });
      return { host: { ...existing, info, status: 'ready', lastHeartbeatAt: at }, previous: existing.info };
    }
    const host = Object.assign(new Host(), {
      id: newId('host'),
      teamId: pool.teamId,
      name: info.name,
      status: 'ready',
      info,
      lastHeartbeatAt: at,
      createdAt: at,
    });
    await this.hosts.insert(pool, host);
    this.logger.log(`host ${info.name} registered as ${host.id}`);
    return { host };
  }

  /** The host, if it is ready to take work; HostNotReady (503) otherwise. `where` says why this host. */
  assertReady(host: Host, where = ''): Host {
    if (host.status !== 'ready') throw new UnavailableError(`host ${host.name}${where ? `, ${where},` : ''} is ${host.status}`, 'HostNotReady');
    return host;
  }

  /** Hosts silent too long become unreachable, then down. */
  async sweep(now = Date.now()): Promise<void> {
    await this.tx.run(async () => {
      await this.hosts.markDown(new Date(now - DOWN_AFTER_MS));
      await this.hosts.markUnreachable(new Date(now - UNREACHABLE_AFTER_MS));
    });
  }

  /** Hosts a team may use: the shared pool (the admin team's) and the team's own. */
  async list(auth: AuthContext): Promise<Host[]> {
    return this.hosts.visible(auth, await this.sharedPool());
  }

  async get(auth: AuthContext, idOrName: string): Promise<Host> {
    const host = await this.hosts.findVisible(auth, await this.sharedPool(), idOrName);
    if (!host) throw new NotFoundError(`host ${idOrName} not found`, 'HostNotFound');
    return host;
  }

  /**
   * Forgets a host (the route is admins only): refused while any team has a
   * container or volume on it, or while it is ready unless forced. Its image records go with it.
   */
  async remove(auth: AuthContext, idOrName: string, force: boolean): Promise<void> {
    const host = await this.get(auth, idOrName);
    await this.tx.run(async () => {
      const containers = await this.hosts.containersOn(host.id);
      const volumes = await this.hosts.volumesOn(host.id);
      if (containers || volumes) {
        throw new FailedPreconditionError(`host ${host.name} still has ${containers} container(s) and ${volumes} volume(s)`, 'HostInUse');
      }
      const current = await this.hosts.byId(host.id);
      if (current.status === 'ready' && !force) {
        throw new FailedPreconditionError(`host ${host.name} is ready: stop its worker first, or force`, 'HostReady');
      }
      await this.hosts.removeWithImages(host.id);
    });
    this.logger.log(`host ${host.name} (${host.id}) removed`);
  }

  async byId(id: string): Promise<Host> {
    return this.hosts.byId(id);
  }

  /**
   * Picks a ready host for a container: one that holds the image for this team if
   * any does, else the ready host with the fewest containers.
   */
  async schedule(auth: AuthContext, imageDigest?: string): Promise<Host> {
    const hosts = (await this.list(auth)).filter((h) => h.status === 'ready');
    if (!hosts.length) throw new UnavailableError('no host is ready to run containers; start a worker', 'NoHostAvailable');
    let candidates = hosts;
    if (imageDigest) {
      const holding = await this.hosts.holdingImage(auth, imageDigest);
      const withImage = hosts.filter((h) => holding.has(h.id));
      if (withImage.length) candidates = withImage;
    }
    if (candidates.length === 1) return candidates[0];
    const load = await this.hosts.containerCounts(candidates.map((h) => h.id));
    return candidates.reduce((best, h) => ((load.get(h.id) ?? 0) < (load.get(best.id) ?? 0) ? h : best));
  }

  /** The admin team's hosts are the pool every team schedules on. */
  private async sharedPool(): Promise<TeamScope> {
    return { teamId: (await this.auth.adminTeam()).id };
  }
}
