import {
  ContainerActionJob,
  ContainerConvergeJob,
  ContainerRestartJob,
  ContainerSignalJob,
  ContainerUpdateJob,
  NotFoundError,
  ContainerNetwork,
  ContainerNetworksJob,
  FailedPreconditionError,
  RestartPolicy,
  formatImageReference,
  parseImageReference,
  killSuspendsRestartPolicy,
  restartDelayMs,
  shouldRestart,
} from '@berth/domain';
import type { ContainerInfo, ContainerRuntime, ImageStore } from '@berth/runtime';
import type { ContainerNetworking } from './container-networking';
import { ContainerStateStore } from './container-state-store';
import type { HealthMonitor } from './health-monitor';
import { KeyedMutex } from './keyed-mutex';
import type { RegistryImages } from './registry-images';
import { ContainerReports, observedFrom } from './reporter';
import type { VolumeStore } from './volume-store';

/**
 * Brings a container on this host to the state a job asks for. Level-triggered:
 * it looks at what is there and does only what is missing, so a repeated job is
 * harmless and a job older than the last one applied changes nothing. It also
 * applies the container's restart policy when its process exits on its own.
 */
export class ContainerConverger {
  private readonly locks = new KeyedMutex();
  private readonly pendingRestarts = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly images: Pick<ImageStore, 'has' | 'resolve'>,
    private readonly states: ContainerStateStore,
    private readonly reporter: ContainerReports,
    private readonly hostName: string,
    private readonly onError: (err: unknown, containerId: string) => void = () => undefined,
    private readonly health?: Pick<HealthMonitor, 'watch' | 'unwatch'>,
    private readonly puller?: Pick<RegistryImages, 'pull'>,
    private readonly volumes?: Pick<VolumeStore, 'resolve'>,
    private readonly networking?: Pick<ContainerNetworking, 'prepare' | 'release' | 'refreshHosts' | 'rewire'>,
  ) {}

  converge(job: ContainerConvergeJob): Promise<void> {
    return this.locks.run(job.containerId, () => this.convergeLocked(job));
  }

  /** Sends the signal; SIGKILL or the stop signal also suspends the restart policy until the next start. */
  signal(job: ContainerSignalJob): Promise<void> {
    return this.locks.run(job.containerId, async () => {
      if (killSuspendsRestartPolicy(job.signal)) {
        this.cancelRestart(job.containerId);
        await this.states.update(job.containerId, { policySuspended: true });
      }
      await this.runtime.kill(job.containerId, job.signal);
    });
  }

  /** Stops the container if it runs (grace period, then SIGKILL) and starts it again: a start the user asked for. */
  restart(job: ContainerRestartJob): Promise<void> {
    return this.locks.run(job.containerId, async () => {
      this.cancelRestart(job.containerId);
      await this.states.update(job.containerId, { desired: 'running', restartCount: 0, policySuspended: false });
      const info = await this.runtime.inspect(job.containerId);
      if (info.status === 'running' || info.status === 'paused') await this.report(await this.runtime.stop(job.containerId, job.stopTimeoutSec));
      await this.started(await this.runtime.start(job.containerId));
    });
  }

  /** Joins or leaves networks: the namespace is rewired and the new list remembered. */
  rewire(job: ContainerNetworksJob): Promise<void> {
    return this.locks.run(job.containerId, async () => {
      if (!this.networking) throw new FailedPreconditionError('this worker has no networking', 'NotSupported');
      const state = await this.states.get(job.containerId);
      const before = state.network?.networks ?? [];
      await this.networking.rewire(job.containerId, before, job.networks, job.ports);
      if (state.network) await this.states.update(job.containerId, { network: { ...state.network, networks: job.networks } });
      await this.networking.refreshHosts(new Set([...before, ...job.networks].map((n) => n.networkId)));
    });
  }

  update(job: ContainerUpdateJob): Promise<void> {
    return this.locks.run(job.containerId, () => this.runtime.update(job.containerId, job.resources));
  }

  /** Freezes or thaws the container and reports its new status. */
  freeze(job: ContainerActionJob, frozen: boolean): Promise<void> {
    return this.locks.run(job.containerId, async () => {
      await this.report(frozen ? await this.runtime.pause(job.containerId) : await this.runtime.unpause(job.containerId));
    });
  }

  private async convergeLocked(job: ContainerConvergeJob): Promise<void> {
    const id = job.containerId;
    const { generation: applied } = await this.states.get(id);
    if (applied !== undefined && applied >= job.generation) return; // stale or repeated: nothing to do
    this.cancelRestart(id);
    let info = await this.inspect(id);

    if (job.desired === 'removed') {
      this.health?.unwatch(id);
      if (info) await this.runtime.remove(id, { force: true });
      await this.forget(id, job.spec.networks);
      await this.reporter.container(id, { status: 'removed', generation: job.generation });
      return;
    }

    // Remember what the user asked for before acting: an exit this stop causes is not the policy's to undo.
    const starting = job.desired === 'running' && info?.status !== 'running';
    await this.states.update(id, { desired: job.desired, ...(starting ? { restartCount: 0, policySuspended: false } : {}) });
    if (!info) {
      const image = await this.resolveImage(job);
      const { autoRemove, restartPolicy, healthcheck } = job.spec;
      const { name, hostname, networks } = job.spec;
      const metadata = { teamId: job.teamId, imageDigest: image.digest, autoRemove: autoRemove === true, restartPolicy, healthcheck };
      const mounts = this.volumes ? await this.volumes.resolve(job.spec.mounts) : [];
      const netnsPath = await this.networking?.prepare(id, job.spec);
      try {
        info = await this.runtime.create({ id, spec: job.spec, image, metadata, mounts, netnsPath });
      } catch (err) {
        await this.networking?.release(id, networks).catch((e) => this.onError(e, id));
        throw err;
      }
      await this.states.update(id, { network: { name, hostname, networks } });
      await this.networking?.refreshHosts(new Set((networks ?? []).map((n) => n.networkId)));
      await this.report(info, job.generation);
    }
    const start = job.desired === 'running' && info.status !== 'running';
    if (start) {
      info = await this.runtime.start(id);
    } else if (job.desired === 'stopped' && info.status === 'running') {
      info = await this.runtime.stop(id, job.stopTimeoutSec);
    }
    await this.states.update(id, { generation: job.generation });
    await this.report(info, job.generation);
    if (start) this.health?.watch(info);
  }

  /**
   * A process exited (on its own, killed, or stopped). The exit is reported; then a
   * container created with autoRemove goes away (docker run --rm), and one whose
   * restart policy says so starts again after Docker's backoff.
   */
  async reportExit(info: ContainerInfo): Promise<void> {
    await this.locks.run(info.id, async () => {
      const current = await this.inspect(info.id);
      if (!current || current.status === 'running') return; // gone already, or started again meanwhile
      await this.report(current);
      if (current.status !== 'exited') return;
      if (current.metadata.autoRemove === true) {
        this.health?.unwatch(info.id);
        await this.runtime.remove(info.id, { force: true });
        await this.forget(info.id);
        await this.reporter.container(info.id, { status: 'removed' });
        return;
      }
      const state = await this.states.get(info.id);
      const policy = current.metadata.restartPolicy as RestartPolicy | undefined;
      const exit = {
        exitCode: current.exitCode ?? 0,
        restartCount: state.restartCount,
        stoppedByUser: state.desired !== 'running' || state.policySuspended === true,
      };
      if (shouldRestart(policy, exit)) this.scheduleRestart(info.id, restartDelayMs(state.restartCount));
    });
  }

  /** After a worker restart: containers that exited while nobody watched get their exit handled now. */
  async resume(): Promise<void> {
    for (const info of await this.runtime.list()) {
      if (info.status === 'exited') await this.reportExit(info).catch((err) => this.onError(err, info.id));
      if (info.status === 'running') this.health?.watch(info);
    }
  }

  close(): void {
    for (const timer of this.pendingRestarts.values()) clearTimeout(timer);
    this.pendingRestarts.clear();
  }

  private scheduleRestart(id: string, delayMs: number): void {
    this.cancelRestart(id);
    const timer = setTimeout(() => {
      this.pendingRestarts.delete(id);
      this.restartByPolicy(id).catch((err) => this.onError(err, id));
    }, delayMs);
    this.pendingRestarts.set(id, timer);
  }

  private cancelRestart(id: string): void {
    clearTimeout(this.pendingRestarts.get(id));
    this.pendingRestarts.delete(id);
  }

  private restartByPolicy(id: string): Promise<void> {
    return this.locks.run(id, async () => {
      const current = await this.inspect(id);
      const state = await this.states.get(id);
      if (!current || current.status !== 'exited' || state.desired !== 'running' || state.policySuspended) return; // the user acted meanwhile
      await this.states.update(id, { restartCount: state.restartCount + 1 });
      await this.started(await this.runtime.start(id));
    });
  }

  /** A start outside a converge (restart, restart policy): report it and begin health checks. */
  private async started(info: ContainerInfo): Promise<void> {
    await this.report(info);
    this.health?.watch(info);
  }

  /** Reports what the runtime says, with the generation being converged to (or the last one applied). */
  private async report(info: ContainerInfo, generation?: number): Promise<void> {
    const state = await this.states.get(info.id);
    await this.reporter.container(info.id, observedFrom(info, { ...state, generation: generation ?? state.generation }));
  }

  private async inspect(id: string): Promise<ContainerInfo | undefined> {
    try {
      return await this.runtime.inspect(id);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * A removed container's last traces: its state file, then its networking (from
   * what the state says it joined, which follows connects and disconnects; the
   * job's list when the state has none).
   */
  private async forget(id: string, fallback?: ContainerNetwork[]): Promise<void> {
    const networks = (await this.states.get(id)).network?.networks ?? fallback;
    await this.states.delete(id);
    await this.networking?.release(id, networks);
  }

  /** The image to create from: pulled first when the job says so (pullPolicy), else it must be here. */
  private async resolveImage(job: ContainerConvergeJob) {
    let digest = job.spec.imageDigest;
    const present = digest !== undefined && (await this.images.has(digest));
    if (job.pull && this.puller && (job.pull.policy === 'always' || !present)) {
      const pulled = await this.puller.pull({
        operationId: job.operationId,
        teamId: job.teamId,
        reference: job.spec.image,
        login: job.pull.login,
      });
      digest = pulled.digest;
    } else if (!present) {
      const hint = job.pull ? '' : ' (pullPolicy is never): pull or load it first';
      throw new NotFoundError(`image ${formatImageReference(parseImageReference(job.spec.image))} is not on host ${this.hostName}${hint}`, 'ImageNotFound');
    }
    return this.images.resolve(digest!);
  }
}
