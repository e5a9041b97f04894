import { chmod, mkdir } from 'fs/promises';
import { pipeline } from 'stream';
import * as tar from 'tar-stream';
import { DomainError } from '@berth/domain';
import { HashingTap } from './digests';
import { digestMismatch, invalidLayer } from './image-errors';
import { LayerWriter, Warn } from './layer-writer';
import { decompressed, isCorruptInputError, openSource } from './streams';

export { layerPathComponents } from './layer-paths';

export interface UnpackLayerOptions {
  /** Digest of the blob as stored (compressed or not); checked after reading it. */
  expectedDigest?: string;
  /** The config's diff_id: sha256 of the uncompressed tar. */
  expectedDiffId?: string;
  warn?: Warn;
}

export interface UnpackedLayer {
  digest: string;
  size: number;
  diffId: string;
}

/**
 * Extracts a layer tar (gzip or plain, told apart by magic bytes) into `targetDir`
 * the way overlayfs expects a lower directory: whiteouts become 0/0 character
 * devices and opaque markers the `trusted.overlay.opaque` xattr. Digests are
 * compared once everything is read, so the caller must unpack into a scratch
 * directory and throw it away when this rejects.
 */
export async function unpackLayer(
  source: NodeJS.ReadableStream | string,
  targetDir: string,
  options: UnpackLayerOptions = {},
): Promise<UnpackedLayer> {
  await mkdir(targetDir, { recursive: true });
  // The layer root becomes the container's `/` unless the tar carries a `./` entry.
  await chmod(targetDir, 0o755);
  const writer = new LayerWriter(targetDir, options.warn ?? ((message) => process.emitWarning(message)));
  const blobTap = new HashingTap();
  const diffTap = new HashingTap();
  const extract = tar.extract();
  const raw = openSource(source);
  pipeline(raw, blobTap, () => undefined);
  try {
    const { stream } = await decompressed(blobTap);
    pipeline(stream, diffTap, () => undefined);
    diffTap.on('error', (err) => extract.destroy(err));
    diffTap.pipe(extract);
    for await (const entry of extract) {
      await writer.write(entry.header, entry as AsyncIterable<Buffer>);
      entry.resume();
    }
    await writer.finish();
  } catch (err) {
    extract.destroy();
    raw.destroy();
    if (err instanceof DomainError || !isCorruptInputError(err)) throw err;
    throw invalidLayer(`the layer is not a readable tar: ${(err as Error).message}`);
  }

  const blob = blobTap.result();
  const diff = diffTap.result();
  if (options.expectedDigest && blob.digest !== options.expectedDigest) {
    throw digestMismatch('layer blob', { digest: options.expectedDigest }, blob);
  }
  if (options.expectedDiffId && diff.digest !== options.expectedDiffId) {
    throw digestMismatch(`uncompressed content of layer ${blob.digest} (diff_id)`, { digest: options.expectedDiffId }, diff);
  }
  return { digest: blob.digest, size: blob.size, diffId: diff.digest };
}
