import {
  FailedPreconditionError,
  ImagePullJob,
  ImagePushJob,
  ImageRemoveJob,
  InvalidArgumentError,
  LoadedImage,
  OperationProgress,
  RegistryLogin,
  SealedLogin,
  formatImageReference,
  parseImageReference,
} from '@berth/domain';
import { ImageStore, RegistryClient, RegistryCredentials, parsePlatform } from '@berth/runtime';

/** Where pulls report what they did (the Reporter; a recorder in unit tests). */
export interface ImageReports {
  imagesLoaded(operationId: string, teamId: string, images: LoadedImage[]): Promise<void>;
  progress(operationId: string, progress: OperationProgress): Promise<void>;
}

export type RegistryStore = Pick<ImageStore, 'pull' | 'push' | 'history' | 'list' | 'remove' | 'gc' | 'resolve'>;

/** Opens a registry login sealed for this host (the host's SealingKey). */
export interface LoginOpener {
  open(sealed: SealedLogin, teamId: string): RegistryLogin;
}

export interface RegistryImagesOptions {
  /** Opens the sealed logins jobs carry; a job with a login fails without it. */
  logins?: LoginOpener;
  /** Registries (`host[:port]`) spoken to over plain HTTP besides loopback ones. */
  insecureRegistries: string[];
  /** Least time between two progress reports of one pull. */
  progressEveryMs?: number;
  /** An image stored again this recently is not removed (a pull racing the removal). */
  removalGraceMs?: number;
}

/**
 * Pulls, pushes and removals of images on this host, for jobs and for creates that
 * pull their image first. A registry login comes sealed inside the job, is opened
 * with this host's key only when the job carries one, and lives only as long as the job.
 */
export class RegistryImages {
  constructor(
    private readonly store: RegistryStore,
    private readonly reports: ImageReports,
    private readonly options: RegistryImagesOptions,
  ) {}

  /** Pulls for a job or a create; the image is reported for the team under the operation. */
  async pull(job: Pick<ImagePullJob, 'operationId' | 'teamId' | 'reference' | 'platform' | 'login'>): Promise<LoadedImage> {
    const ref = parseImageReference(job.reference, 'reference');
    const client = this.client(job.teamId, job.login);
    const every = this.options.progressEveryMs ?? 500;
    let last = 0;
    let sending = Promise.resolve();
    const loaded = await this.store.pull(formatImageReference(ref), client, {
      platform: job.platform ? platformOf(job.platform) : undefined,
      onProgress: (progress) => {
        const now = Date.now();
        const done = progress.layersDone === progress.layersTotal && progress.bytesDone >= progress.bytesTotal;
        if (now - last < every && !done) return;
        last = now;
        sending = sending.then(() => this.reports.progress(job.operationId, progress).catch(() => undefined));
      },
    });
    await sending;
    // Unpacked now, as docker pull does, so the first container starts without waiting for it.
    await this.store.resolve(loaded.digest);
    // A digest names content, not a tag: an image pulled by digest alone carries no reference.
    const references = ref.tag ? [formatImageReference({ ...ref, digest: undefined })] : [];
    const image: LoadedImage = { ...loaded, references, history: await this.store.history(loaded.digest) };
    await this.reports.imagesLoaded(job.operationId, job.teamId, [image]);
    return image;
  }

  async push(job: ImagePushJob): Promise<Record<string, unknown>> {
    const result = await this.store.push(job.reference, job.digest, this.client(job.teamId, job.login));
    return { digest: result.digest, reference: job.reference, uploaded: result.uploaded.length, skipped: result.skipped.length };
  }

  /**
   * Drops what the job names (or all but what it keeps), sparing images a container
   * here uses and images stored again since the API looked, then collects garbage.
   */
  async remove(job: ImageRemoveJob, inUse: Set<string>): Promise<Record<string, unknown>> {
    const grace = this.options.removalGraceMs ?? 60_000;
    const cutoff = Date.parse(job.at) - grace;
    const stored = await this.store.list();
    const keep = new Set(job.keep ?? []);
    const candidates = job.digests ? stored.filter((s) => job.digests!.includes(s.digest)) : stored.filter((s) => !keep.has(s.digest));
    const removed: string[] = [];
    const kept: string[] = [];
    for (const image of candidates) {
      if (inUse.has(image.digest) || image.storedAt.getTime() > cutoff) {
        kept.push(image.digest);
        continue;
      }
      if (await this.store.remove(image.digest)) removed.push(image.digest);
    }
    const freed = await this.store.gc();
    return { removed, kept, ...freed };
  }

  private client(teamId: string, sealed?: SealedLogin): RegistryClient {
    const login = sealed ? this.openLogin(sealed, teamId) : undefined;
    return new RegistryClient({
      insecureRegistries: this.options.insecureRegistries,
      credentials: async (registry): Promise<RegistryCredentials | undefined> =>
        login && login.server === registry ? { username: login.username, password: login.password } : undefined,
      userAgent: 'berth-worker',
    });
  }

  private openLogin(sealed: SealedLogin, teamId: string): RegistryLogin {
    if (!this.options.logins) throw new FailedPreconditionError('this worker has no sealing key to open the registry login with', 'NoSealingKey');
    return this.options.logins.open(sealed, teamId);
  }
}

function platformOf(text: string) {
  const platform = parsePlatform(text);
  if (!platform)
    throw new InvalidArgumentError(
      `platform "${text}" is not os/architecture[/variant]`,
      [{ field: 'platform', message: 'os/architecture[/variant]' }],
      'InvalidPlatform',
    );
  return platform;
}
