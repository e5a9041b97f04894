import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { FailedPreconditionError, NotFoundError, UnavailableError, type ContainerResources } from '@berth/domain';
import type { ContainerInfo, CreateContainerOptions } from '../container-runtime';
import { cgroupResources, mergeResourceUpdate } from '../oci-resources';
import { checkSpecForHost, type OciSpec } from '../oci-spec';
import { checkedId } from '../shared/container-id';
import { parseSignal } from '../shared/signals';
import type { ConmonMonitor } from './conmon-monitor';
import type { ContainerBundles } from './container-bundles';
import type { ContainerMeta, ContainerMetaStore } from './container-meta';
import { isLive, notRunning, type ContainerStatusReader } from './container-status';
import type { ExitReports } from './exit-reports';
import type { HostFactsCache } from './host';
import { readPidFile } from './processes';
import { asDomainError, ignoreMissing, type RuncClient } from './runc';
import type { StateLayout } from './state-layout';

const SIGKILL = 9;

export interface ContainerLifecycleParts {
  layout: StateLayout;
  runc: RuncClient;
  metas: ContainerMetaStore;
  status: ContainerStatusReader;
  exits: ExitReports;
  monitor: ConmonMonitor;
  bundles: ContainerBundles;
  hostFacts: HostFactsCache;
  prepare: () => Promise<void>;
  /** How long to wait for an exit after SIGKILL. */
  killGraceMs: number;
}

/** A container's life under runc and conmon: create, start, signals, stop, pause, limits and removal. */
export class ContainerLifecycle {
  constructor(private readonly parts: ContainerLifecycleParts) {}

  async create(options: CreateContainerOptions): Promise<ContainerInfo> {
    const { bundles, hostFacts, monitor, status } = this.parts;
    const { id, spec, image } = options;
    checkedId(id);
    const stopSignal = parseSignal(image.config.stopSignal || 'SIGTERM').name;
    // A bad spec, a limit the host cannot give, or no seccomp profile: fail before anything exists on disk.
    const facts = await hostFacts.get();
    checkSpecForHost(spec, image.config, { hostNofileHardLimit: facts.nofileHard, hostRlimits: facts.rlimits });
    const seccompProfile = await bundles.seccompProfileFor(spec);
    await this.parts.prepare();
    await bundles.reserve(id);
    try {
      const meta = await bundles.write(options, stopSignal, seccompProfile);
      await monitor.spawn(id, spec.name);
      return await status.describe(meta, { status: 'created', pid: 0 }, undefined);
    } catch (err) {
      await this.destroy(id).catch(() => undefined);
      throw err;
    }
  }

  async start(id: string): Promise<ContainerInfo> {
    const { layout, runc, metas, status } = this.parts;
    const meta = await metas.read(id);
    const state = await status.runcState(id);
    if (state && state.status !== 'created' && state.status !== 'stopped') return status.inspect(id);
    if (state?.status !== 'created') await this.recreate(meta);
    // startedAt first: an instant exit must already be reported as this run's.
    const started: ContainerMeta = { ...meta, startedAt: new Date().toISOString() };
    await metas.write(started);
    try {
      await runc.start(id);
    } catch (err) {
      await metas.write(meta);
      throw asDomainError(err, id);
    }
    // Running as of now (it may already have finished: inspect or wait tell).
    const pid = await readPidFile(layout.file(id, 'pidfile'));
    return status.describe(started, { status: 'running', pid: pid ?? 0 }, undefined);
  }

  async kill(id: string, signal: string): Promise<void> {
    const parsed = parseSignal(signal);
    const meta = await this.parts.metas.read(id);
    const info = await this.parts.status.inspect(id);
    if (!isLive(info)) throw notRunning(id);
    try {
      await this.parts.runc.kill(id, parsed.number);
    } catch (err) {
      throw asDomainError(err, id);
    }
    // As Docker: SIGKILL or the stop signal to a paused container thaws it, so the signal lands.
    if (info.status === 'paused' && (parsed.number === SIGKILL || parsed.name === meta.stopSignal)) await this.thawIfPaused(id);
  }

  async stop(id: string, timeoutSec: number): Promise<ContainerInfo> {
    const { metas, status, exits, killGraceMs } = this.parts;
    const meta = await metas.read(id);
    const info = await status.inspect(id);
    if (!isLive(info)) return info;
    await this.signalIfRunning(id, parseSignal(meta.stopSignal).number);
    if (info.status === 'paused') await this.thawIfPaused(id); // as Docker: the stop signal lands once thawed
    if (!(await exits.waitForExitFile(id, Math.max(0, timeoutSec) * 1000))) {
      await this.signalIfRunning(id, SIGKILL);
      await this.thawIfPaused(id);
      if (!(await exits.waitForExitFile(id, killGraceMs))) {
        throw new UnavailableError(`container ${id} did not exit within ${killGraceMs} ms of SIGKILL`, 'StopTimedOut');
      }
    }
    return status.inspect(id);
  }

  async remove(id: string, options: { force?: boolean } = {}): Promise<void> {
    const { status, exits } = this.parts;
    const info = await status.inspect(id);
    if (isLive(info)) {
      if (!options.force) {
        throw new FailedPreconditionError(`container ${id} is running: stop it first or remove it with force`, 'ContainerRunning');
      }
      exits.beginRemoval(id);
      try {
        await this.signalIfRunning(id, SIGKILL);
        if (info.status === 'paused') await this.thawIfPaused(id);
        await exits.waitForExitFile(id, this.parts.killGraceMs);
      } catch (err) {
        exits.endRemoval(id);
        throw err;
      }
    }
    await this.destroy(id);
  }

  async pause(id: string): Promise<ContainerInfo> {
    const info = await this.parts.status.inspect(id);
    if (info.status === 'paused') return info;
    if (info.status !== 'running') throw notRunning(id);
    try {
      await this.parts.runc.pause(id);
    } catch (err) {
      throw asDomainError(err, id);
    }
    return this.parts.status.inspect(id);
  }

  async unpause(id: string): Promise<ContainerInfo> {
    const info = await this.parts.status.inspect(id);
    if (info.status === 'running') return info;
    if (info.status !== 'paused') throw notRunning(id);
    try {
      await this.parts.runc.resume(id);
    } catch (err) {
      throw asDomainError(err, id);
    }
    return this.parts.status.inspect(id);
  }

  /**
   * New cgroup limits through `runc update` when runc holds the container, and in
   * config.json and meta.json so the next start keeps them. Ulimits and the /dev/shm
   * size cannot change in place.
   */
  async update(id: string, resources: ContainerResources): Promise<void> {
    const { layout, runc, metas, status, hostFacts } = this.parts;
    const meta = await metas.read(id);
    const merged = mergeResourceUpdate(meta.spec.resources, resources);
    const { swapLimit } = await hostFacts.get();
    const cgroup = cgroupResources(merged, { swapLimit });
    const state = await status.runcState(id);
    if (state && state.status !== 'stopped') {
      const file = layout.file(id, 'update.json');
      try {
        await writeFile(file, JSON.stringify(cgroup));
        await runc.update(id, file);
      } catch (err) {
        throw asDomainError(err, id);
      } finally {
        await rm(file, { force: true });
      }
    }
    const configPath = layout.file(id, 'config.json');
    const config = JSON.parse(await readFile(configPath, 'utf8')) as OciSpec;
    config.linux.resources = { devices: config.linux.resources.devices, ...cgroup };
    await writeFile(`${configPath}.tmp`, JSON.stringify(config, null, 2));
    await rename(`${configPath}.tmp`, configPath);
    const latest = await metas.read(id);
    await metas.write({ ...latest, spec: { ...latest.spec, resources: merged } });
  }

  /** An exited (or never monitored) container back to 'created': same bundle and rootfs, the log appends. */
  private async recreate(meta: ContainerMeta): Promise<void> {
    const { layout, runc, monitor, bundles } = this.parts;
    const { id } = meta;
    await monitor.waitForExit(id);
    await runc.delete(id, { force: true }).catch(ignoreMissing);
    await Promise.all([layout.exitFile(id), layout.file(id, 'oom'), layout.file(id, 'pidfile')].map((path) => rm(path, { force: true })));
    await bundles.mountRootfsIfUnmounted(id, meta.image.layerDirs);
    await monitor.spawn(id, meta.spec.name);
  }

  /** Everything the container owns on the host, best effort and in order: process, monitor, mount, files. */
  private async destroy(id: string): Promise<void> {
    const { runc, monitor, bundles, exits } = this.parts;
    exits.beginRemoval(id);
    try {
      await this.thawIfPaused(id).catch(() => undefined); // runc cannot kill a frozen container
      await runc.delete(id, { force: true }).catch(ignoreMissing);
      await monitor.waitForExit(id);
      await bundles.remove(id);
      exits.forget(id);
    } finally {
      exits.endRemoval(id);
    }
  }

  private async signalIfRunning(id: string, signal: number): Promise<void> {
    try {
      await this.parts.runc.kill(id, signal);
    } catch (err) {
      const mapped = asDomainError(err, id);
      if (!(mapped instanceof FailedPreconditionError)) throw mapped;
    }
  }

  /** runc resume when runc says the container is paused; a container that is gone meanwhile is fine. */
  private async thawIfPaused(id: string): Promise<void> {
    const state = await this.parts.runc.stateIfExists(id).catch(() => undefined);
    if (state?.status !== 'paused') return;
    try {
      await this.parts.runc.resume(id);
    } catch (err) {
      const mapped = asDomainError(err, id);
      if (!(mapped instanceof FailedPreconditionError) && !(mapped instanceof NotFoundError)) throw mapped;
    }
  }
}
