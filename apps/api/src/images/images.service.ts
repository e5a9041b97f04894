import { Injectable } from '@nestjs/common';
import {
  Host,
  Image,
  InvalidArgumentError,
  LoadedImage,
  NotFoundError,
  UnavailableError,
  isDigest,
  newId,
  normalizeImageReference,
  parseImageReference,
} from '@berth/domain';
import { TeamScope } from '../common/auth-context';
import { Transactions } from '../database/transactions';
import { HostsService } from '../hosts/hosts.service';
import { ImagesRepository } from './images.repository';

/** One image of a team, as stored on one or more hosts (one row per host). */
export interface TeamImage {
  rows: Image[];
  /** The oldest row: its id names the image. */
  primary: Image;
  digest: string;
  references: string[];
  hostIds: string[];
}

/**
 * The team's image catalogue: what its hosts hold, found by id, digest or
 * reference, and the references that name them. Other features resolve images
 * here; the transfers (load, pull, push) and removals have services of their own.
 */
@Injectable()
export class ImagesService {
  constructor(
    private readonly images: ImagesRepository,
    private readonly tx: Transactions,
    private readonly hosts: HostsService,
  ) {}

  /** The team's images, one per digest, newest first. */
  async list(scope: TeamScope): Promise<TeamImage[]> {
    const rows = await this.images.list(scope);
    const byDigest = new Map<string, Image[]>();
    for (const row of rows) byDigest.set(row.digest, [...(byDigest.get(row.digest) ?? []), row]);
    return [...byDigest.values()]
      .map(teamImage)
      .sort((a, b) => b.primary.createdAt.getTime() - a.primary.createdAt.getTime() || (a.digest < b.digest ? -1 : 1));
  }

  /** By id, digest or reference, within the team. */
  async get(scope: TeamScope, ref: string): Promise<TeamImage> {
    const images = await this.list(scope);
    let found: TeamImage | undefined;
    if (/^img_/.test(ref)) found = images.find((i) => i.rows.some((r) => r.id === ref));
    else if (isDigest(ref)) found = images.find((i) => i.digest === ref);
    else {
      const normalized = normalizeImageReference(ref, 'ref');
      const at = normalized.indexOf('@');
      found = at >= 0 ? images.find((i) => i.digest === normalized.slice(at + 1)) : images.find((i) => i.references.includes(normalized));
    }
    if (!found) throw new NotFoundError(`image ${ref} not found`, 'ImageNotFound');
    return found;
  }

  /**
   * The digest a (normalized) reference names for the team: the one it carries after
   * `@`, else that of the newest of the team's images that has the reference;
   * undefined when the team has none (the host pulls it).
   */
  async resolveDigest(scope: TeamScope, reference: string): Promise<string | undefined> {
    const at = reference.indexOf('@');
    if (at >= 0) return reference.slice(at + 1);
    const rows = await this.images.list(scope, 'DESC');
    return rows.find((i) => i.references.includes(reference))?.digest;
  }

  /** A ready host that holds the image, for reads that need its bytes (export, push). */
  async hostHolding(scope: TeamScope, image: TeamImage): Promise<Host> {
    for (const id of image.hostIds) {
      const host = await this.hosts.byId(id);
      if (host.status === 'ready') return host;
    }
    throw new UnavailableError(`no ready host holds image ${image.digest}`, 'HostNotReady');
  }

  /** Gives the image another reference; a reference another image of the team had moves here (docker tag). */
  async tag(scope: TeamScope, ref: string, reference: string): Promise<TeamImage> {
    const normalized = normalizeImageReference(reference, 'reference');
    if (parseImageReference(normalized).digest) {
      const message = 'a tag cannot name a digest';
      throw new InvalidArgumentError(message, [{ field: 'reference', message }], 'InvalidReference');
    }
    const image = await this.get(scope, ref);
    await this.tx.run(async () => {
      for (const row of await this.images.list(scope)) {
        const has = row.references.includes(normalized);
        if (row.digest === image.digest && !has) await this.images.update(scope, row.id, { references: [...row.references, normalized] });
        if (row.digest !== image.digest && has) await this.images.update(scope, row.id, { references: row.references.filter((r) => r !== normalized) });
      }
    });
    return this.get(scope, image.digest);
  }

  /** Takes one (normalized) reference away from the image, on every host; the image stays. */
  async untag(scope: TeamScope, image: TeamImage, reference: string): Promise<void> {
    await this.tx.run(async () => {
      for (const row of image.rows) await this.images.update(scope, row.id, { references: row.references.filter((r) => r !== reference) });
    });
  }

  /**
   * Records what a worker loaded or pulled for a team; a reference moves to the newest
   * image that carries it. Opens no transaction of its own: it joins the caller's (the
   * report's), and on SQLite, where transactions take turns, one of its own would wait
   * for the caller's to end.
   */
  async recordLoaded(teamId: string, hostId: string, images: LoadedImage[]): Promise<void> {
    const scope: TeamScope = { teamId };
    const incoming = new Set(images.flatMap((i) => i.references));
    for (const other of await this.images.listOnHost(scope, hostId)) {
      const kept = other.references.filter((r) => !incoming.has(r));
      if (kept.length !== other.references.length && !images.some((i) => i.digest === other.digest)) {
        await this.images.update(scope, other.id, { references: kept });
      }
    }
    for (const img of images) {
      const existing = await this.images.findOnHost(scope, hostId, img.digest);
      if (existing) {
        await this.images.update(scope, existing.id, {
          references: [...new Set([...existing.references, ...img.references])],
          history: img.history ?? existing.history,
        });
        continue;
      }
      await this.images.insert(scope, newId('image'), hostId, {
        digest: img.digest,
        configDigest: img.configDigest,
        references: img.references,
        sizeBytes: img.sizeBytes,
        config: img.config,
        os: img.os,
        architecture: img.architecture,
        history: img.history ?? null,
      });
    }
  }
}

function teamImage(rows: Image[]): TeamImage {
  return {
    rows,
    primary: rows[0],
    digest: rows[0].digest,
    references: [...new Set(rows.flatMap((r) => r.references))],
    hostIds: rows.map((r) => r.hostId),
  };
}

/** A reference (as opposed to an image id or a bare digest). */
export function isReference(ref: string): boolean {
  return !/^img_/.test(ref) && !isDigest(ref);
}
