import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { arch, release } from 'node:os';
import { AlreadyExistsError, type ContainerSpec } from '@berth/domain';
import type { CreateContainerOptions, HostMount } from '../container-runtime';
import { createHostsFile } from '../network/hosts-file';
import { buildOciSpec, containerHostname } from '../oci-spec';
import { resolveUser } from '../oci-user';
import { loadDockerSeccompProfile, type DockerSeccompProfile } from '../seccomp';
import type { ProcessRunner } from '../shared/process-runner';
import { cgroupPath } from './cgroups';
import type { ContainerMeta, ContainerMetaStore } from './container-meta';
import { hostnameFileContent, parseResolvConf, resolvConfContent } from './etc-files';
import type { HostFactsCache } from './host';
import { isMountPoint, mountOverlay, unmountIfMounted } from './overlay';
import type { StateLayout } from './state-layout';
import { copyUp } from './volume-copy-up';

export interface ContainerBundlesOptions {
  seccompProfilePath: string;
  resolvConfPaths: { host: string; upstream: string };
}

/** Each container's directory on the host: its rootfs mount, /etc files, config.json and meta.json. */
export class ContainerBundles {
  /** Copy-ups run one at a time: of two containers created on one new volume, only the first fills it. */
  private copyUps: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly layout: StateLayout,
    private readonly runner: ProcessRunner,
    private readonly metas: ContainerMetaStore,
    private readonly hostFacts: HostFactsCache,
    private readonly options: ContainerBundlesOptions,
  ) {}

  /** The bundle directory of a new container; AlreadyExists when the id is taken. */
  async reserve(id: string): Promise<void> {
    try {
      await mkdir(this.layout.bundle(id), { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new AlreadyExistsError(`container ${id} already exists`, 'ContainerExists');
      }
      throw err;
    }
  }

  /** Docker's profile, read afresh for each container; none for privileged or unconfined ones. */
  async seccompProfileFor(spec: ContainerSpec): Promise<DockerSeccompProfile | undefined> {
    if (spec.security?.privileged || spec.security?.seccompProfile === 'unconfined') return undefined;
    return loadDockerSeccompProfile(this.options.seccompProfilePath);
  }

  /** rootfs mount, /etc files, config.json and meta.json of a new container. */
  async write(
    { id, spec, image, metadata, mounts, netnsPath }: CreateContainerOptions,
    stopSignal: string,
    seccompProfile: DockerSeccompProfile | undefined,
  ): Promise<ContainerMeta> {
    const file = (name: Parameters<StateLayout['file']>[1]) => this.layout.file(id, name);
    await Promise.all([mkdir(file('rootfs')), mkdir(file('upper')), mkdir(file('work'))]);
    await this.mountRootfs(id, image.layerDirs);
    await this.copyUpVolumes(file('rootfs'), mounts);
    const user = await resolveUser(spec.user || image.config.user, file('rootfs'));
    const hostname = containerHostname(id, spec);
    await Promise.all([
      createHostsFile(file('hosts'), hostname),
      writeFile(file('hostname'), hostnameFileContent(hostname), { mode: 0o644 }),
      writeFile(file('resolv.conf'), await this.resolvConf(spec), { mode: 0o644 }),
    ]);
    const { nofileHard, rlimits, cgroupVersion, swapLimit } = await this.hostFacts.get();
    const ociSpec = buildOciSpec({
      id,
      spec,
      image: image.config,
      rootfsPath: file('rootfs'),
      user,
      hostNofileHardLimit: nofileHard,
      hostRlimits: rlimits,
      seccomp: seccompProfile ? { profile: seccompProfile, arch: arch(), kernel: release() } : undefined,
      swapLimit,
      cgroupsPath: cgroupPath(id),
      cgroupVersion,
      etcFiles: { hosts: file('hosts'), hostname: file('hostname'), resolvConf: file('resolv.conf') },
      mounts,
      netnsPath,
    });
    await writeFile(file('config.json'), JSON.stringify(ociSpec, null, 2));
    const meta: ContainerMeta = { id, spec, image, metadata, stopSignal, createdAt: new Date().toISOString() };
    await this.metas.write(meta);
    return meta;
  }

  /** The rootfs mounted again when it is not (after a host reboot). */
  async mountRootfsIfUnmounted(id: string, layers: string[]): Promise<void> {
    if (!(await isMountPoint(this.layout.file(id, 'rootfs')))) await this.mountRootfs(id, layers);
  }

  /** The rootfs unmounted, then the bundle, the exit file and conmon's socket link removed. */
  async remove(id: string): Promise<void> {
    await unmountIfMounted(this.runner, this.layout.file(id, 'rootfs'));
    await rm(this.layout.bundle(id), { recursive: true, force: true });
    await rm(this.layout.exitFile(id), { force: true });
    await rm(this.layout.socketLink(id), { recursive: true, force: true });
  }

  private mountRootfs(id: string, layers: string[]): Promise<void> {
    return mountOverlay(this.runner, {
      layers,
      upper: this.layout.file(id, 'upper'),
      work: this.layout.file(id, 'work'),
      target: this.layout.file(id, 'rootfs'),
    });
  }

  /** Fills each new, empty volume with what the image holds where it is mounted, from the rootfs before anything is mounted over it. */
  private copyUpVolumes(rootfs: string, mounts: HostMount[] = []): Promise<void> {
    const copies = this.copyUps.then(async () => {
      for (const m of mounts) if (m.copyUp && m.type === 'bind' && m.source) await copyUp(rootfs, m.destination, m.source);
    });
    this.copyUps = copies.catch(() => undefined);
    return copies;
  }

  /** The container's /etc/resolv.conf: the host's, made fit for the container's network, and its own dns settings. */
  private async resolvConf(spec: CreateContainerOptions['spec']): Promise<string> {
    const read = (path: string) => readFile(path, 'utf8').then(parseResolvConf, () => undefined);
    const { host, upstream } = this.options.resolvConfPaths;
    return resolvConfContent({ networkMode: spec.networkMode ?? 'bridge', host: await read(host), upstream: await read(upstream), dns: spec.dns });
  }
}
