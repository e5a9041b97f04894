import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImageLoadJob, InvalidArgumentError, LoadedImage, UnavailableError } from '@berth/domain';
import type { ImageStore } from '@berth/runtime';

/** Fetches an uploaded tar from the API (a signed link), checks it, and loads it into the host's store. */
export class ImageLoader {
  constructor(
    private readonly store: ImageStore,
    private readonly apiUrl: string,
    private readonly tmpDir: string,
  ) {}

  async load(job: ImageLoadJob): Promise<LoadedImage[]> {
    await mkdir(this.tmpDir, { recursive: true });
    const file = join(this.tmpDir, `${job.uploadId}.tar`);
    try {
      await this.download(job, file);
      return await this.store.loadArchive(file);
    } finally {
      await rm(file, { force: true });
    }
  }

  private async download(job: ImageLoadJob, file: string): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.apiUrl}${job.downloadPath}`);
    } catch (err) {
      throw new UnavailableError(`cannot reach the API at ${this.apiUrl} to fetch the upload: ${(err as Error).message}`, 'ApiUnreachable');
    }
    if (res.status === 404) throw new InvalidArgumentError(`upload ${job.uploadId} is gone or its link expired`, [], 'UploadGone');
    if (!res.ok || !res.body) throw new UnavailableError(`the API answered ${res.status} for upload ${job.uploadId}`, 'ApiError');
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), meter, createWriteStream(file));
    const sha256 = hash.digest('hex');
    if (size !== job.sizeBytes || sha256 !== job.sha256) {
      throw new UnavailableError(`upload ${job.uploadId} arrived damaged (${size} bytes, sha256 ${sha256}); retrying`, 'UploadDamaged');
    }
  }
}
