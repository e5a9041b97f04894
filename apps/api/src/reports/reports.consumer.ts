import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Job, Worker } from 'bullmq';
import { DataSource, EntityManager, In } from 'typeorm';
import { Container, Host, InventoryEntry, ObservedContainer, Operation, REPORTS_QUEUE, Report, SerializedError, statusFromObserved } from '@berth/domain';
import { BerthEvent, EventBus } from '../events/event-bus';
import { HostsService } from '../hosts/hosts.service';
import { ImagesService } from '../images/images.service';
import { UploadStore } from '../images/upload-store';
import { NetworksService } from '../networks/networks.service';
import { RedisConnections } from '../common/redis';

type PendingEvent = Omit<BerthEvent, 'at'>;

/**
 * Applies what workers observed. One report at a time per API process (BullMQ
 * concurrency 1, FIFO); across replicas, each container's report sequence keeps
 * a late report from overwriting a newer one.
 */
@Injectable()
export class ReportsConsumer implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Reports');
  private worker?: Worker;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly redis: RedisConnections,
    private readonly hosts: HostsService,
    private readonly images: ImagesService,
    private readonly uploads: UploadStore,
    private readonly events: EventBus,
    private readonly networks: NetworksService,
  ) {}

  onModuleInit(): void {
    this.worker = new Worker(REPORTS_QUEUE, (job: Job<Report>) => this.apply(job.data), {
      connection: this.redis.bullConnection,
      concurrency: 1,
      removeOnComplete: { count: 0 },
      removeOnFail: { age: 24 * 3600 },
    });
    this.worker.on('error', (err) => this.logger.warn(`reports queue: ${err.message}`));
    this.worker.on('failed', (job, err) => this.logger.error(`report ${job?.name} failed: ${err.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
  }

  async apply(report: Report): Promise<void> {
    const events: PendingEvent[] = [];
    const afterCommit: (() => Promise<void>)[] = [];
    let membersChanged = false;
    await this.db.transaction(async (tx) => {
      switch (report.kind) {
        case 'host.heartbeat': {
          const { host, previous } = await this.hosts.heartbeat(report.host, new Date(report.at));
          // A restarted worker, or one reached at a new address: the hosts of its networks hear of it again.
          if (report.inventory || previous?.overlayAddress !== report.host.overlayAddress) {
            await this.networks.touch(tx, await this.networks.networksOf(tx, { hostId: host.id }));
            membersChanged = true;
          }
          if (report.inventory) await this.applyInventory(tx, host, report.inventory, events);
          break;
        }
        case 'container':
          await this.applyContainer(tx, report.containerId, report.seq, report.observed, events);
          break;
        case 'operation':
          await this.applyOperation(tx, report, events);
          break;
        case 'operation.progress': {
          const op = await tx.getRepository(Operation).findOneBy({ id: report.operationId });
          if (op && (op.status === 'queued' || op.status === 'running')) await tx.getRepository(Operation).update({ id: op.id }, { progress: report.progress });
          break;
        }
        case 'images.loaded': {
          const op = await tx.getRepository(Operation).findOneBy({ id: report.operationId });
          if (!op) return;
          await this.images.recordLoaded(tx, op.teamId, op.hostId, report.images);
          await tx.getRepository(Operation).update({ id: op.id }, { result: { ...(op.result ?? {}), images: report.images } });
          if (op.kind === 'image.load') afterCommit.push(() => this.uploads.remove(op.targetId));
          if (op.targetKind === 'container' && report.images[0]) await this.recordPulledDigest(tx, op.targetId, report.images[0].digest);
          events.push({ type: 'image.updated', id: report.images[0]?.digest ?? op.id, teamId: op.teamId });
          break;
        }
      }
    });
    for (const task of afterCommit) await task().catch(() => undefined);
    // A deleted container left its networks: their hosts hear of it now rather than at the dispatcher's next turn.
    if (membersChanged || events.some((e) => e.type === 'container.deleted')) await this.networks.flushSyncs();
    for (const e of events) await this.events.publish(e).catch(() => undefined);
  }

  private async applyContainer(tx: EntityManager, id: string, seq: number, observed: ObservedContainer, events: PendingEvent[]): Promise<void> {
    const repo = tx.getRepository(Container);
    const c = await repo.findOneBy({ id });
    if (!c || seq <= c.reportSeq) return; // unknown (already deleted) or stale
    const next = statusFromObserved(c.status, observed.status);
    if (next === 'deleted') {
      await repo.delete({ id });
      await this.networks.release(tx, id); // its addresses are free again
      events.push({ type: 'container.deleted', id, teamId: c.teamId });
      return;
    }
    const update = {
      status: next,
      reportSeq: seq,
      exitCode: observed.exitCode ?? (observed.status === 'running' ? null : c.exitCode),
      pid: observed.status === 'running' ? (observed.pid ?? null) : null,
      oomKilled: observed.oomKilled ?? false,
      restartCount: observed.restartCount ?? c.restartCount,
      // A health verdict holds for one start: kept while running, cleared when the process ends.
      health: observed.health ?? (observed.status === 'running' || observed.status === 'paused' ? c.health : null),
      error: observed.error ?? null,
      startedAt: observed.startedAt ? new Date(observed.startedAt) : c.startedAt,
      finishedAt: observed.status === 'running' ? null : observed.finishedAt ? new Date(observed.finishedAt) : c.finishedAt,
      updatedAt: new Date(),
      version: c.version + 1,
    };
    await repo.update({ id }, update);
    events.push(...containerEvents(c, update));
  }

  /** A restarted worker lists what it runs; containers it no longer has are gone. */
  private async applyInventory(tx: EntityManager, host: Host, inventory: InventoryEntry[], events: PendingEvent[]): Promise<void> {
    for (const entry of inventory) await this.applyContainer(tx, entry.containerId, entry.seq, entry.observed, events);
    const present = new Set(inventory.map((e) => e.containerId));
    const known = await tx.getRepository(Container).find({ where: { hostId: host.id, status: In(['created', 'running', 'exited', 'removing']) } });
    for (const c of known) {
      if (present.has(c.id)) continue;
      if (c.status === 'removing') {
        await tx.getRepository(Container).delete({ id: c.id });
        await this.networks.release(tx, c.id);
        events.push({ type: 'container.deleted', id: c.id, teamId: c.teamId });
      } else {
        const error: SerializedError = { class: 'NotFound', reason: 'ContainerLost', message: `host ${host.name} no longer has this container` };
        await tx.getRepository(Container).update({ id: c.id }, { status: 'failed', pid: null, error, updatedAt: new Date(), version: c.version + 1 });
        events.push({ type: 'container.failed', id: c.id, teamId: c.teamId, attributes: { name: c.name, error } });
      }
    }
  }

  private async applyOperation(tx: EntityManager, report: Extract<Report, { kind: 'operation' }>, events: PendingEvent[]): Promise<void> {
    const repo = tx.getRepository(Operation);
    const op = await repo.findOneBy({ id: report.operationId });
    if (!op || op.status === 'succeeded' || op.status === 'failed') return; // finished operations never change
    const at = new Date(report.at);
    if (report.status === 'running') {
      await repo.update({ id: op.id }, { status: 'running', startedAt: op.startedAt ?? at });
      events.push({ type: 'operation.running', id: op.id, teamId: op.teamId, attributes: { kind: op.kind, targetId: op.targetId } });
    } else {
      const result = report.result ? { ...(op.result ?? {}), ...report.result } : op.result;
      await repo.update(
        { id: op.id },
        { status: report.status, startedAt: op.startedAt ?? at, finishedAt: at, error: report.error ?? null, result: result as never },
      );
      if (report.status === 'failed' && op.kind === 'container.create') await this.markCreateFailed(tx, op, report, events);
    }
    if (report.status !== 'running') {
      events.push({
        type: `operation.${report.status}`,
        id: op.id,
        teamId: op.teamId,
        attributes: { kind: op.kind, targetId: op.targetId, error: report.error },
      });
    }
  }

  /** A create that pulled its image: the container now names the digest it runs. */
  private async recordPulledDigest(tx: EntityManager, containerId: string, digest: string): Promise<void> {
    const repo = tx.getRepository(Container);
    const c = await repo.findOneBy({ id: containerId });
    if (!c || c.spec.imageDigest === digest) return;
    await repo.update({ id: c.id }, { spec: { ...c.spec, imageDigest: digest } });
  }

  /** A container whose creation failed says so, with the reason, instead of staying pending forever. */
  private async markCreateFailed(tx: EntityManager, op: Operation, report: Extract<Report, { kind: 'operation' }>, events: PendingEvent[]): Promise<void> {
    const repo = tx.getRepository(Container);
    const c = await repo.findOneBy({ id: op.targetId });
    if (!c || c.status !== 'pending') return;
    await repo.update({ id: c.id }, { status: 'failed', error: report.error ?? null, updatedAt: new Date(), version: c.version + 1 });
    events.push({ type: 'container.failed', id: c.id, teamId: c.teamId, attributes: { name: c.name, error: report.error } });
  }
}

/**
 * What a report changed, as events people can follow: a new status, a restart by
 * the policy, a new health verdict. A report that changed none of these still
 * wakes whoever waits on the container.
 */
export function containerEvents(before: Container, after: Pick<Container, 'status' | 'exitCode' | 'oomKilled' | 'restartCount' | 'health'>): PendingEvent[] {
  const base = { id: before.id, teamId: before.teamId };
  const events: PendingEvent[] = [];
  if (after.status !== before.status) {
    const attributes: Record<string, unknown> = { name: before.name, image: before.spec.image };
    if (after.status === 'exited') Object.assign(attributes, { exitCode: after.exitCode, oomKilled: after.oomKilled });
    events.push({ ...base, type: `container.${after.status}`, attributes });
  }
  if (after.restartCount > before.restartCount)
    events.push({ ...base, type: 'container.restarted', attributes: { name: before.name, restartCount: after.restartCount } });
  if (after.health?.status && after.health.status !== before.health?.status) {
    events.push({
      ...base,
      type: 'container.health_status',
      attributes: { name: before.name, status: after.health.status, failingStreak: after.health.failingStreak },
    });
  }
  return events.length ? events : [{ ...base, type: 'container.updated' }];
}
