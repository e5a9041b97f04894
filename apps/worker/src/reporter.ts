import { ConnectionOptions, Queue } from 'bullmq';
import { HostInfo, InventoryEntry, LoadedImage, ObservedContainer, OperationProgress, REPORTS_QUEUE, Report, SerializedError } from '@berth/domain';
import type { ContainerInfo } from '@berth/runtime';
import type { ImageReports } from './registry-images';

/** Where the converger sends container state (the Reporter; a recorder in unit tests). */
export interface ContainerReports {
  container(containerId: string, observed: ObservedContainer): Promise<void>;
}

/**
 * Sends what this host observes to the API, on the reports queue. Each container
 * report carries a sequence that only grows (microseconds since the epoch, bumped
 * when two fall in the same microsecond), so the API can drop stale ones, even
 * across a worker restart.
 */
export class Reporter implements ContainerReports, ImageReports {
  private readonly queue: Queue;
  private lastSeq = 0;

  constructor(
    connection: ConnectionOptions,
    private readonly hostName: string,
  ) {
    this.queue = new Queue(REPORTS_QUEUE, { connection });
  }

  nextSeq(): number {
    this.lastSeq = Math.max(this.lastSeq + 1, Date.now() * 1000);
    return this.lastSeq;
  }

  container(containerId: string, observed: ObservedContainer): Promise<void> {
    return this.send({ kind: 'container', hostName: this.hostName, containerId, seq: this.nextSeq(), observed, at: now() });
  }

  operation(operationId: string, status: 'running' | 'succeeded' | 'failed', error?: SerializedError, result?: Record<string, unknown>): Promise<void> {
    return this.send({ kind: 'operation', operationId, status, error, result, at: now() });
  }

  progress(operationId: string, progress: OperationProgress): Promise<void> {
    return this.send({ kind: 'operation.progress', operationId, progress, at: now() });
  }

  imagesLoaded(operationId: string, teamId: string, images: LoadedImage[]): Promise<void> {
    return this.send({ kind: 'images.loaded', operationId, teamId, hostName: this.hostName, images, at: now() });
  }

  heartbeat(host: HostInfo, inventory?: InventoryEntry[]): Promise<void> {
    return this.send({ kind: 'host.heartbeat', host, inventory, at: now() });
  }

  private async send(report: Report): Promise<void> {
    await this.queue.add(report.kind, report, {
      removeOnComplete: true,
      removeOnFail: { age: 24 * 3600 },
      attempts: 3,
      backoff: { type: 'exponential', delay: 500 },
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export function observedFrom(info: ContainerInfo, state?: { generation?: number; restartCount?: number }): ObservedContainer {
  return {
    status: info.status,
    generation: state?.generation,
    restartCount: state?.restartCount,
    pid: info.pid,
    exitCode: info.exitCode,
    oomKilled: info.oomKilled,
    startedAt: info.startedAt,
    finishedAt: info.finishedAt,
  };
}

function now(): string {
  return new Date().toISOString();
}
