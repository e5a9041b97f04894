import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import { REPORTS_QUEUE, Report } from '@berth/domain';
import { RedisConnections } from '../common/redis';
import { Transactions } from '../database/transactions';
import { EventBus } from '../events/event-bus.service';
import { HostReports } from './host-reports.service';
import { OperationReports } from './operation-reports.service';
import { checkedReport } from './report-intake';
import { ReportOutcome } from './report-outcome';

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
    private readonly redis: RedisConnections,
    private readonly tx: Transactions,
    private readonly events: EventBus,
    private readonly hostReports: HostReports,
    private readonly operationReports: OperationReports,
  ) {}

  onModuleInit(): void {
    this.worker = new Worker(REPORTS_QUEUE, (job: Job) => this.apply(checkedReport(job, this.logger)), {
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

  /** One report, in one transaction; its events are published and its clean-ups run once that commits. */
  async apply(report: Report): Promise<void> {
    const outcome = new ReportOutcome();
    await this.tx.run(async () => {
      switch (report.kind) {
        case 'host.heartbeat':
          await this.hostReports.heartbeat(report, outcome);
          break;
        case 'container':
          await this.hostReports.container(report.containerId, report.seq, report.observed, outcome);
          break;
        case 'operation':
          await this.operationReports.status(report, outcome);
          break;
        case 'operation.progress':
          await this.operationReports.progress(report);
          break;
        case 'images.loaded':
          await this.operationReports.imagesLoaded(report, outcome);
          break;
      }
    });
    for (const task of outcome.afterCommit) await task().catch(() => undefined);
    await this.hostReports.syncNetworks(outcome);
    for (const e of outcome.events) await this.events.publish(e).catch(() => undefined);
  }
}
