import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, LessThan } from 'typeorm';
import {
  Container,
  FailedPreconditionError,
  Host,
  HostInfo,
  Image,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
  Volume,
  newId,
} from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { AuthService } from '../auth/auth.service';

/** A host is unreachable after this long without a heartbeat, and down after the second. */
export const UNREACHABLE_AFTER_MS = 15_000;
export const DOWN_AFTER_MS = 60_000;

@Injectable()
export class HostsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Hosts');
  private sweeper?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly auth: AuthService,
  ) {}

  onModuleInit(): void {
    this.sweeper = setInterval(() => this.sweep().catch((e) => this.logger.warn(`liveness sweep: ${e.message}`)), 5000);
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  /** Applies a worker's heartbeat: registers the host the first time. */
  /** Applies a worker's heartbeat; answers the host and what it reported before (none the first time). */
  async heartbeat(tx: EntityManager, info: HostInfo, at: Date): Promise<{ host: Host; previous?: HostInfo }> {
    const team = await this.auth.adminTeam();
    const repo = tx.getRepository(Host);
    const existing = await repo.findOneBy({ teamId: team.id, name: info.name });
    if (existing) {
      if (existing.status !== 'ready') this.logger.log(`host ${info.name} is ready again`);
      await repo.update({ id: existing.id }, { info, status: 'ready', lastHeartbeatAt: at });
      return { host: { ...existing, info, status: 'ready', lastHeartbeatAt: at }, previous: existing.info };
    }
    const host = Object.assign(new Host(), { id: newId('host'), teamId: team.id, name: info.name, status: 'ready', info, lastHeartbeatAt: at, createdAt: at });
    await repo.insert(host);
    this.logger.log(`host ${info.name} registered as ${host.id}`);
    return { host };
  }

  /** The host, if it is ready to take work; HostNotReady (503) otherwise. `where` says why this host. */
  assertReady(host: Host, where = ''): Host {
    if (host.status !== 'ready') throw new UnavailableError(`host ${host.name}${where ? `, ${where},` : ''} is ${host.status}`, 'HostNotReady');
    return host;
  }

  async sweep(now = Date.now()): Promise<void> {
    await this.db.transaction(async (tx) => {
      const repo = tx.getRepository(Host);
      await repo.update({ status: In(['ready', 'unreachable']), lastHeartbeatAt: LessThan(new Date(now - DOWN_AFTER_MS)) }, { status: 'down' });
      await repo.update({ status: 'ready', lastHeartbeatAt: LessThan(new Date(now - UNREACHABLE_AFTER_MS)) }, { status: 'unreachable' });
    });
  }

  /** Hosts a team may use: the shared pool (the admin team's) and the team's own. */
  private async visibleTeamIds(auth: AuthContext): Promise<string[]> {
    const admin = await this.auth.adminTeam();
    return [...new Set([admin.id, auth.teamId])];
  }

  async list(auth: AuthContext): Promise<Host[]> {
    return this.db.getRepository(Host).find({ where: { teamId: In(await this.visibleTeamIds(auth)) }, order: { name: 'ASC' } });
  }

  async get(auth: AuthContext, idOrName: string): Promise<Host> {
    const teamIds = In(await this.visibleTeamIds(auth));
    const host = await this.db.getRepository(Host).findOne({
      where: [
        { id: idOrName, teamId: teamIds },
        { name: idOrName, teamId: teamIds },
      ],
    });
    if (!host) throw new NotFoundError(`host ${idOrName} not found`, 'HostNotFound');
    return host;
  }

  /**
   * Forgets a host (admins only): refused while any team has a container or volume
   * on it, or while it is ready unless forced. Its image records go with it.
   */
  async remove(auth: AuthContext, idOrName: string, force: boolean): Promise<void> {
    if (!auth.admin) throw new PermissionDeniedError('only administrators can remove hosts', 'AdminOnly');
    const host = await this.get(auth, idOrName);
    await this.db.transaction(async (tx) => {
      const containers = await tx.getRepository(Container).count({ where: { hostId: host.id } });
      const volumes = await tx.getRepository(Volume).count({ where: { hostId: host.id } });
      if (containers || volumes) {
        throw new FailedPreconditionError(`host ${host.name} still has ${containers} container(s) and ${volumes} volume(s)`, 'HostInUse');
      }
      const current = await tx.getRepository(Host).findOneByOrFail({ id: host.id });
      if (current.status === 'ready' && !force) {
        throw new FailedPreconditionError(`host ${host.name} is ready: stop its worker first, or force`, 'HostReady');
      }
      await tx.getRepository(Image).delete({ hostId: host.id });
      await tx.getRepository(Host).delete({ id: host.id });
    });
    this.logger.log(`host ${host.name} (${host.id}) removed`);
  }

  async byId(id: string): Promise<Host> {
    return this.db.getRepository(Host).findOneByOrFail({ id });
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
      const holding = await this.db.getRepository(Image).find({ where: { teamId: auth.teamId, digest: imageDigest }, select: { hostId: true } });
      const ids = new Set(holding.map((i) => i.hostId));
      const withImage = hosts.filter((h) => ids.has(h.id));
      if (withImage.length) candidates = withImage;
    }
    if (candidates.length === 1) return candidates[0];
    const counts = await this.db
      .createQueryBuilder()
      .select('c.hostId', 'hostId')
      .addSelect('COUNT(*)', 'n')
      .from('containers', 'c')
      .where('c.hostId IN (:...ids)', { ids: candidates.map((h) => h.id) })
      .groupBy('c.hostId')
      .getRawMany<{ hostId: string; n: string }>();
    const load = new Map(counts.map((r) => [r.hostId, Number(r.n)]));
    return candidates.reduce((best, h) => ((load.get(h.id) ?? 0) < (load.get(best.id) ?? 0) ? h : best));
  }
}
