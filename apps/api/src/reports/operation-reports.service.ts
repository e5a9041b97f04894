import { Injectable } from '@nestjs/common';
import { Operation } from '@berth/domain';
import { ImagesService } from '../images/images.service';
import { UploadStore } from '../images/upload-store.service';
import { ContainerReportsRepository } from './container-reports.repository';
import { OperationReportsRepository } from './operation-reports.repository';
import { ReportOf, ReportOutcome } from './report-outcome';

/** What workers report of the operations they run: status, progress, and the images a load or pull stored. */
@Injectable()
export class OperationReports {
  constructor(
    private readonly operations: OperationReportsRepository,
    private readonly containers: ContainerReportsRepository,
    private readonly images: ImagesService,
    private readonly uploads: UploadStore,
  ) {}

  /** An operation started, succeeded or failed; finished operations never change. */
  async status(report: ReportOf<'operation'>, out: ReportOutcome): Promise<void> {
    const op = await this.operations.find(report.operationId);
    if (!op || op.status === 'succeeded' || op.status === 'failed') return;
    const at = new Date(report.at);
    if (report.status === 'running') {
      await this.operations.update(op.id, { status: 'running', startedAt: op.startedAt ?? at });
      out.events.push({ type: 'operation.running', id: op.id, teamId: op.teamId, attributes: { kind: op.kind, targetId: op.targetId } });
    } else {
      const result = report.result ? { ...(op.result ?? {}), ...report.result } : op.result;
      await this.operations.update(op.id, { status: report.status, startedAt: op.startedAt ?? at, finishedAt: at, error: report.error ?? null, result });
      if (report.status === 'failed' && op.kind === 'container.create') await this.markCreateFailed(op, report, out);
    }
    if (report.status !== 'running') {
      out.events.push({
        type: `operation.${report.status}`,
        id: op.id,
        teamId: op.teamId,
        attributes: { kind: op.kind, targetId: op.targetId, error: report.error },
      });
    }
  }

  /** Progress of an operation still under way. */
  async progress(report: ReportOf<'operation.progress'>): Promise<void> {
    const op = await this.operations.find(report.operationId);
    if (op && (op.status === 'queued' || op.status === 'running')) await this.operations.update(op.id, { progress: report.progress });
  }

  /** A load or pull stored images on the host: the team holds them there, and the operation's result names them. */
  async imagesLoaded(report: ReportOf<'images.loaded'>, out: ReportOutcome): Promise<void> {
    const op = await this.operations.find(report.operationId);
    if (!op) return;
    await this.images.recordLoaded(op.teamId, op.hostId, report.images);
    await this.operations.update(op.id, { result: { ...(op.result ?? {}), images: report.images } });
    if (op.kind === 'image.load') out.afterCommit.push(() => this.uploads.remove(op.targetId));
    if (op.targetKind === 'container' && report.images[0]) await this.recordPulledDigest(op.targetId, report.images[0].digest);
    out.events.push({ type: 'image.updated', id: report.images[0]?.digest ?? op.id, teamId: op.teamId });
  }

  /** A create that pulled its image: the container now names the digest it runs. */
  private async recordPulledDigest(containerId: string, digest: string): Promise<void> {
    const c = await this.containers.find(containerId);
    if (!c || c.spec.imageDigest === digest) return;
    await this.containers.setSpec(c.id, { ...c.spec, imageDigest: digest });
  }

  /** A container whose creation failed says so, with the reason, instead of staying pending forever. */
  private async markCreateFailed(op: Operation, report: ReportOf<'operation'>, out: ReportOutcome): Promise<void> {
    const c = await this.containers.find(op.targetId);
    if (!c || c.status !== 'pending') return;
    await this.containers.update(c.id, { status: 'failed', error: report.error ?? null, updatedAt: new Date(), version: c.version + 1 });
    out.events.push({ type: 'container.failed', id: c.id, teamId: c.teamId, attributes: { name: c.name, error: report.error } });
  }
}
