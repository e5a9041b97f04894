import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { NetworksService } from '../networks/networks.service';
import { JobProducer } from '../operations/job-producer.service';

/** Every few seconds, enqueues operations accepted, and network syncs held back, while Redis was unreachable. */
@Injectable()
export class Dispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Dispatcher');
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly producer: JobProducer,
    private readonly networks: NetworksService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), 3000);
    void this.tick();
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const n = await this.producer.dispatchPending();
      if (n) this.logger.log(`enqueued ${n} operation(s) left queued`);
      await this.networks.flushSyncs();
    } catch (err) {
      this.logger.warn(`dispatch: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}
