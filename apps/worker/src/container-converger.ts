import { ContainerActionJob, ContainerConvergeJob, ContainerRestartJob, ContainerSignalJob, ContainerUpdateJob, NotFoundError, formatImageReference, parseImageReference } from '@berth/domain';
import type { ContainerInfo, ContainerRuntime, ImageStore } from '@berth/runtime';
import { GenerationStore } from './generation-store';
import { KeyedMutex } from './keyed-mutex';
import { ContainerReports, observedFrom } from './reporter';

/**
 * Brings a container on this host to the state a job asks for. Level-triggered:
 * it looks at what is there and does only what is missing, so a repeated job is
 * harmless and a job older than the last one applied changes nothing.
 */
export class ContainerConverger {
  private readonly locks = new KeyedMutex();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly images: Pick<ImageStore, 'has' | 'resolve'>,
    private readonly generations: GenerationStore,
    private readonly reporter: ContainerReports,
    private readonly hostName: string,
  ) {}

  converge(job: ContainerConvergeJob): Promise<void> {
    return this.locks.run(job.containerId, () => this.convergeLocked(job));
  }

  signal(job: ContainerSignalJob): Promise<void> {
    return this.locks.run(job.containerId, async () => {
      await this.runtime.kill(job.containerId, job.signal);
    });
  }

  /** Stops the container if it runs (grace period, then SIGKILL) and starts it again. */
  restart(job: ContainerRestartJob): Promise<void> {
    return this.locks.run(job.containerId, async () => {
      let info = await this.runtime.inspect(job.containerId);
      if (info.status === 'running' || info.status === 'paused') {
        info = await this.runtime.stop(job.containerId, job.stopTimeoutSec);
        await this.report(info, await this.generations.get(job.containerId));
      }
      await this.report(await this.runtime.start(job.containerId), await this.generations.get(job.containerId));
    });
  }

  update(job: ContainerUpdateJob): Promise<void> {
    return this.locks.run(job.containerId, () => this.runtime.update(job.containerId, job.resources));
  }

  /** Freezes or thaws the container and reports its new status. */
  freeze(job: ContainerActionJob, frozen: boolean): Promise<void> {
    return this.locks.run(job.containerId, async () => {
      const info = frozen ? await this.runtime.pause(job.containerId) : await this.runtime.unpause(job.containerId);
      await this.report(info, await this.generations.get(job.containerId));
    });
  }

  private async convergeLocked(job: ContainerConvergeJob): Promise<void> {
    const id = job.containerId;
    const applied = await this.generations.get(id);
    if (applied !== undefined && applied >= job.generation) return; // stale or repeated: nothing to do
    let info = await this.inspect(id);

    if (job.desired === 'removed') {
      if (info) await this.runtime.remove(id, { force: true });
      await this.generations.delete(id);
      await this.reporter.container(id, { status: 'removed', generation: job.generation });
      return;
    }

    if (!info) {
      const image = await this.resolveImage(job);
      info = await this.runtime.create({ id, spec: job.spec, image, metadata: { teamId: job.teamId, autoRemove: job.spec.autoRemove === true } });
      await this.report(info, job.generation);
    }
    if (job.desired === 'running' && info.status !== 'running') {
      info = await this.runtime.start(id);
      await this.report(info, job.generation);
    } else if (job.desired === 'stopped' && info.status === 'running') {
      info = await this.runtime.stop(id, job.stopTimeoutSec);
      await this.report(info, job.generation);
    } else {
      await this.report(info, job.generation);
    }
    await this.generations.set(id, job.generation);
  }

  /**
   * Reported on its own (the process exited, was killed, or stopped). A container
   * created with autoRemove goes away then, as with docker run --rm.
   */
  async reportExit(info: ContainerInfo): Promise<void> {
    if (info.metadata.autoRemove !== true) {
      await this.report(info, await this.generations.get(info.id));
      return;
    }
    await this.locks.run(info.id, async () => {
      const current = await this.inspect(info.id);
      if (!current || current.status === 'running') return; // gone already, or started again meanwhile
      await this.report(current, await this.generations.get(info.id));
      await this.runtime.remove(info.id, { force: true });
      await this.generations.delete(info.id);
      await this.reporter.container(info.id, { status: 'removed' });
    });
  }

  private async report(info: ContainerInfo, generation?: number): Promise<void> {
    await this.reporter.container(info.id, observedFrom(info, generation));
  }

  private async inspect(id: string): Promise<ContainerInfo | undefined> {
    try {
      return await this.runtime.inspect(id);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  private async resolveImage(job: ContainerConvergeJob) {
    const missing = () =>
      new NotFoundError(
        `image ${formatImageReference(parseImageReference(job.spec.image))} is not on host ${this.hostName}: load it with POST /v1/images/load first`,
        'ImageNotFound',
      );
    if (!job.spec.imageDigest || !(await this.images.has(job.spec.imageDigest))) throw missing();
    return this.images.resolve(job.spec.imageDigest);
  }
}
