import { createHash, Hash } from 'crypto';
import { Transform } from 'stream';
import { isDigest } from '@berth/domain';
import { invalidArchive } from './image-errors';

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of a validated `sha256:` digest, safe to use as a file name. */
export function digestHex(digest: string): string {
  if (!isDigest(digest)) throw invalidArchive(`unsupported or malformed digest "${digest}" (only sha256 is supported)`);
  return digest.slice('sha256:'.length);
}

/** A pass-through stream that hashes and counts what flows through it. */
export class HashingTap extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  /** Only meaningful once the stream has ended. */
  result(): { digest: string; size: number } {
    return { digest: `sha256:${this.hash.copy().digest('hex')}`, size: this.bytes };
  }
}
