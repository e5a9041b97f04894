import { InvalidArgumentError } from '@berth/domain';
import { ImageErrorReason } from '../image-errors';

/** Drops a body nobody reads, so the connection behind it is released. */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/** The whole body, refused (and cancelled) once it exceeds `maxBytes`, whatever Content-Length said. */
export async function readLimited(response: Response, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await discardBody(response);
    throw new InvalidArgumentError(`${what} is larger than ${maxBytes} bytes`, [], ImageErrorReason.InvalidImageArchive);
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let length = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new InvalidArgumentError(`${what} is larger than ${maxBytes} bytes`, [], ImageErrorReason.InvalidImageArchive);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}
