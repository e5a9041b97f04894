import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import { InvalidArgumentError, NotFoundError, newId } from '@berth/domain';
import { SignedLinks } from '../common/signed-link';
import { API_CONFIG, ApiConfig } from '../config';

export interface StoredUpload {
  id: string;
  sizeBytes: number;
  sha256: string;
}

const LINK_TTL_MS = 24 * 3600 * 1000;

/**
 * Bulk bytes (image tars) uploaded to the API wait here until a worker fetches
 * them through a signed, expiring link; workers need no database or token for it.
 */
@Injectable()
export class UploadStore {
  private readonly dir: string;
  private readonly links: SignedLinks;

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {
    this.dir = join(config.dataDir, 'uploads');
    this.links = new SignedLinks(config.secret, 'upload', LINK_TTL_MS);
  }

  async save(body: NodeJS.ReadableStream): Promise<StoredUpload> {
    await mkdir(this.dir, { recursive: true });
    const id = newId('upload');
    const partial = join(this.dir, `${id}.partial`);
    const hash = createHash('sha256');
    let size = 0;
    const limit = this.config.maxUploadBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > limit) return done(new InvalidArgumentError(`the upload is larger than ${limit} bytes`, [], 'UploadTooLarge'));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(partial, { mode: 0o600 }));
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    if (size === 0) {
      await rm(partial, { force: true });
      throw new InvalidArgumentError('the body is empty: send the image tar as the request body', [{ field: 'body', message: 'empty' }], 'EmptyUpload');
    }
    await rename(partial, this.path(id));
    return { id, sizeBytes: size, sha256: hash.digest('hex') };
  }

  path(id: string): string {
    if (!/^upl_[0-9a-z]{26}$/.test(id)) throw new NotFoundError('no such upload');
    return join(this.dir, `${id}.tar`);
  }

  async open(id: string): Promise<{ stream: NodeJS.ReadableStream; sizeBytes: number }> {
    const file = this.path(id);
    const s = await stat(file).catch(() => null);
    if (!s) throw new NotFoundError(`upload ${id} not found`, 'UploadNotFound');
    return { stream: createReadStream(file), sizeBytes: s.size };
  }

  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }

  /** `/v1/internal/uploads/{id}?expires=…&sig=…`, valid for a day. */
  signedPath(id: string, now = Date.now()): string {
    return this.links.path('/v1/internal/uploads', id, now);
  }

  verify(id: string, expires: string, sig: string, now = Date.now()): boolean {
    return this.links.verify(id, expires, sig, now);
  }
}
