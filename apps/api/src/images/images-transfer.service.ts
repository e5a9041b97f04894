import { Injectable } from '@nestjs/common';
import { Host, ImagePullJob, InvalidArgumentError, JobName, Operation, normalizeImageReference, parseImageReference, jobFor } from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { HostsService } from '../hosts/hosts.service';
import { RegistriesService } from '../registries/registries.service';
import { ImageJobs } from './image-jobs';
import { ImagesService, isReference } from './images.service';
import { UploadStore } from './upload-store.service';

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

/** Images in and out of the team's hosts: a tar uploaded (docker load), pulls from and pushes to registries. */
@Injectable()
export class ImagesTransferService {
  constructor(
    private readonly images: ImagesService,
    private readonly hosts: HostsService,
    private readonly uploads: UploadStore,
    private readonly registries: RegistriesService,
    private readonly jobs: ImageJobs,
  ) {}

  /** Stores the uploaded tar, then asks a host's worker to load it. */
  async load(auth: AuthContext, body: NodeJS.ReadableStream, hostRef?: string): Promise<{ operation: Operation; sizeBytes: number; sha256: string }> {
    const host = await this.readyHost(auth, hostRef);
    const upload = await this.uploads.save(body);
    try {
      const operation = await this.jobs.enqueue(auth, host, 'image.load', upload.id, (operationId) =>
        jobFor(JobName.ImageLoad, host.name, {
          operationId,
          teamId: auth.teamId,
          uploadId: upload.id,
          downloadPath: this.uploads.signedPath(upload.id),
          sizeBytes: upload.sizeBytes,
          sha256: upload.sha256,
        }),
      );
      return { operation, sizeBytes: upload.sizeBytes, sha256: upload.sha256 };
    } catch (err) {
      await this.uploads.remove(upload.id);
      throw err;
    }
  }

  /** Asks a host's worker to pull `reference` from its registry, with the team's login for that registry if it has one. */
  async pull(auth: AuthContext, reference: string, options: { host?: string; platform?: string } = {}): Promise<Operation> {
    const normalized = normalizeImageReference(reference, 'reference');
    if (options.platform !== undefined && !PLATFORM.test(options.platform)) {
      const message = 'platform must be os/architecture[/variant], e.g. linux/arm64 or linux/arm/v7';
      throw new InvalidArgumentError(message, [{ field: 'platform', message }], 'InvalidPlatform');
    }
    const host = await this.readyHost(auth, options.host);
    const payload: Omit<ImagePullJob, 'operationId'> = {
      teamId: auth.teamId,
      reference: normalized,
      platform: options.platform,
      login: await this.registries.sealedLoginFor(auth.teamId, parseImageReference(normalized).registry, host),
    };
    return this.jobs.enqueue(auth, host, 'image.pull', normalized, (operationId) => jobFor(JobName.ImagePull, host.name, { operationId, ...payload }));
  }

  /** Pushes the image `ref` names to `target` (default: `ref` itself, which must then be a reference). */
  async push(auth: AuthContext, ref: string, target?: string): Promise<Operation> {
    const image = await this.images.get(auth, ref);
    const reference = normalizeImageReference(target ?? (isReference(ref) ? ref : ''), target ? 'reference' : 'ref');
    const host = await this.images.hostHolding(auth, image);
    const login = await this.registries.sealedLoginFor(auth.teamId, parseImageReference(reference).registry, host);
    return this.jobs.enqueue(auth, host, 'image.push', reference, (operationId) =>
      jobFor(JobName.ImagePush, host.name, { operationId, teamId: auth.teamId, digest: image.digest, reference, login }),
    );
  }

  private async readyHost(auth: AuthContext, hostRef?: string): Promise<Host> {
    return this.hosts.assertReady(hostRef ? await this.hosts.get(auth, hostRef) : await this.hosts.schedule(auth));
  }
}
