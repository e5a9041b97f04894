import { createReadStream } from 'fs';
import { FileHandle } from 'fs/promises';
import { pipeline, Readable, Transform, TransformCallback } from 'stream';
import { createGunzip } from 'zlib';
import { Decompress } from 'fzstd';

export type Compression = 'gzip' | 'zstd' | 'none';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

export function openSource(input: NodeJS.ReadableStream | string): Readable {
  if (typeof input === 'string') return createReadStream(input);
  return input instanceof Readable ? input : new Readable().wrap(input);
}

export function detectCompression(head: Buffer): Compression {
  if (head.subarray(0, GZIP_MAGIC.length).equals(GZIP_MAGIC)) return 'gzip';
  if (head.subarray(0, ZSTD_MAGIC.length).equals(ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/**
 * Looks at the first bytes of `input` (by magic number, not by what a media type
 * claims) and returns a stream of the uncompressed content.
 */
export async function decompressed(input: Readable): Promise<{ stream: Readable; compression: Compression }> {
  const { head, stream } = await peek(input, ZSTD_MAGIC.length);
  const compression = detectCompression(head);
  if (compression === 'none') return { stream, compression };
  const inflate = compression === 'gzip' ? createGunzip() : new ZstdDecompress();
  // pipeline destroys the decompressor with the source's error, which the consumer then sees.
  pipeline(stream, inflate, () => undefined);
  return { stream: inflate, compression };
}

/**
 * Streaming zstd decompression (Node 20's zlib has none) with fzstd, pure
 * JavaScript. Its errors carry numeric codes, so they are re-raised as plain
 * errors, which callers treat as corrupt input.
 */
export class ZstdDecompress extends Transform {
  private readonly decoder = new Decompress((data) => {
    // fzstd hands out views of its window, which it reuses: copy.
    if (data.length > 0) this.push(Buffer.from(data));
  });

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(this.feed(chunk, false));
  }

  override _flush(callback: TransformCallback): void {
    callback(this.feed(new Uint8Array(0), true));
  }

  private feed(chunk: Uint8Array, final: boolean): Error | null {
    try {
      this.decoder.push(chunk, final);
      return null;
    } catch (err) {
      return new Error(`invalid zstd data: ${(err as Error).message}`);
    }
  }
}

async function peek(stream: Readable, bytes: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < bytes) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      length += chunk.length;
      continue;
    }
    if (stream.readableEnded || stream.destroyed) break;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        stream.off('readable', onReadable).off('end', onEnd).off('error', done);
        if (err) reject(err);
        else resolve();
      };
      const onReadable = () => done();
      const onEnd = () => done();
      stream.once('readable', onReadable).once('end', onEnd).once('error', done);
    });
  }
  const head = Buffer.concat(chunks);
  if (stream.readableEnded) return { head, stream: Readable.from(chunks) };
  if (head.length > 0) stream.unshift(head);
  return { head, stream };
}

export async function writeFully(file: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** tar-stream and zlib report corrupt input as plain errors; file-system errors carry an errno code. */
export function isCorruptInputError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return code === undefined || code.startsWith('Z_');
}
