import { Injectable } from '@nestjs/common';
import { FailedPreconditionError, JobName, Operation, normalizeImageReference, jobFor } from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { HostsService } from '../hosts/hosts.service';
import { ImageJobs } from './image-jobs';
import { ImagesRepository } from './images.repository';
import { ImagesService, isReference } from './images.service';

export interface RemovedImages {
  untagged: string[];
  deleted: string[];
  operations: Operation[];
}

/** docker rmi and docker image prune: the team forgets images, and hosts drop what no team holds any more. */
@Injectable()
export class ImagesRemovalService {
  constructor(
    private readonly catalogue: ImagesService,
    private readonly images: ImagesRepository,
    private readonly hosts: HostsService,
    private readonly jobs: ImageJobs,
  ) {}

  /**
   * docker rmi: a reference of an image that has others is only untagged; otherwise
   * the team's image goes (refused while a container of the team uses it, unless
   * forced), and hosts no team holds it on any more drop it from their stores.
   */
  async remove(auth: AuthContext, ref: string, force: boolean): Promise<RemovedImages> {
    const image = await this.catalogue.get(auth, ref);
    if (isReference(ref) && image.references.length > 1) {
      const normalized = normalizeImageReference(ref, 'ref');
      await this.catalogue.untag(auth, image, normalized);
      return { untagged: [normalized], deleted: [], operations: [] };
    }
    if (!force) {
      const users = await this.images.containersUsing(auth, [image.digest]);
      if (users.length) {
        throw new FailedPreconditionError(
          `image ${ref} is used by container(s) ${users.map((c) => c.name).join(', ')}: delete them first, or delete with force=true`,
          'ImageInUse',
        );
      }
    }
    await this.images.deleteDigests(auth, [image.digest]);
    const operations = await this.cleanHosts(auth, image.hostIds, { digests: [image.digest] });
    return { untagged: image.references, deleted: [image.digest], operations };
  }

  /**
   * docker image prune: drops the team's untagged images (every image no container
   * of the team uses, with `all`), then has every ready host collect what no team
   * holds any more: records, blobs and unpacked layers.
   */
  async prune(auth: AuthContext, all: boolean): Promise<RemovedImages> {
    const images = await this.catalogue.list(auth);
    const used = new Set(
      (
        await this.images.containersUsing(
          auth,
          images.map((i) => i.digest),
        )
      ).map((c) => c.spec.imageDigest),
    );
    const doomed = images.filter((i) => !used.has(i.digest) && (all || i.references.length === 0));
    await this.images.deleteDigests(
      auth,
      doomed.map((i) => i.digest),
    );
    const hosts = (await this.hosts.list(auth)).filter((h) => h.status === 'ready');
    const operations = await this.cleanHosts(
      auth,
      hosts.map((h) => h.id),
      { keep: true },
    );
    return { untagged: doomed.flatMap((i) => i.references), deleted: doomed.map((i) => i.digest), operations };
  }

  /**
   * One removal job per host: either the digests just deleted that no team holds
   * on the host any more, or (`keep`) the full list of what teams still hold there.
   */
  private async cleanHosts(auth: AuthContext, hostIds: string[], what: { digests: string[] } | { keep: true }): Promise<Operation[]> {
    const operations: Operation[] = [];
    const at = new Date().toISOString();
    for (const hostId of [...new Set(hostIds)]) {
      const host = await this.hosts.byId(hostId);
      if (host.status !== 'ready') continue; // a host that is away is cleaned by the next prune
      const heldDigests = await this.images.digestsOnHost(hostId);
      let scope: { digests: string[] } | { keep: string[] };
      if ('digests' in what) {
        const gone = what.digests.filter((d) => !heldDigests.includes(d));
        if (!gone.length) continue;
        scope = { digests: gone };
      } else {
        scope = { keep: heldDigests };
      }
      operations.push(
        await this.jobs.enqueue(auth, host, 'image.remove', host.name, (operationId) =>
          jobFor(JobName.ImageRemove, host.name, { operationId, teamId: auth.teamId, at, ...scope }),
        ),
      );
    }
    return operations;
  }
}
