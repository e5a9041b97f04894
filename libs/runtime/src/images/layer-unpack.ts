import { chmod, mkdir } from 'fs/promises';
import { pipeline } from 'stream';
import * as tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { DomainError } from '@berth/domain';
import { HashingTap } from './digests';
import { digestMismatch, invalidLayer } from './image-errors';
import { EntryXattrs, LayerWriter, Warn } from './layer-writer';
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
 * devices and opaque markers the `trusted.overlay.opaque` xattr. Extended
 * attributes in PAX `SCHILY.xattr.*` records (as Docker and containerd write
 * them) are set where the filesystem allows. Digests are compared once
 * everything is read, so the caller must unpack into a scratch directory and
 * throw it away when this rejects.
 */
export async function unpackLayer(source: NodeJS.ReadableStream | string, targetDir: string, options: UnpackLayerOptions = {}): Promise<UnpackedLayer> {
  await mkdir(targetDir, { recursive: true });
  // The layer root becomes the container's `/` unless the tar carries a `./` entry.
  await chmod(targetDir, 0o755);
  const warn = options.warn ?? ((message: string) => process.emitWarning(message));
  const writer = new LayerWriter(targetDir, warn);
  const blobTap = new HashingTap();
  const diffTap = new HashingTap();
  const extract = tar.extract();
  const xattrsOf = paxXattrReader(extract, warn);
  const raw = openSource(source);
  pipeline(raw, blobTap, () => undefined);
  try {
    const { stream } = await decompressed(blobTap);
    pipeline(stream, diffTap, () => undefined);
    diffTap.on('error', (err) => extract.destroy(err));
    diffTap.pipe(extract);
    for await (const entry of extract) {
      await writer.write(entry.header, entry as AsyncIterable<Buffer>, xattrsOf(entry.header));
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

const XATTR_RECORD_PREFIX = 'SCHILY.xattr.';
const NO_XATTRS: EntryXattrs = new Map();

/** The parts of tar-stream's extractor that see a PAX header's bytes (tar-stream 3). */
interface ExtractInternals {
  _header: { type?: string | null } | null;
  _pax: object | null;
  _decodeLongHeader(buf: Buffer): void;
}

/**
 * tar-stream hands PAX values over as UTF-8 text, which garbles binary values
 * such as security.capability. This taps its PAX decoding to keep each entry's
 * `SCHILY.xattr.*` records byte for byte, found again through `header.pax`.
 * Records of a global PAX header belong to no entry (Docker ignores them too).
 * Should tar-stream's internals change, the decoded text is used instead, and
 * values it could not carry intact are left out with a warning.
 */
function paxXattrReader(extract: tar.Extract, warn: Warn): (header: Header) => EntryXattrs {
  const internals = extract as unknown as Partial<ExtractInternals>;
  const decode = internals._decodeLongHeader;
  const raw = new WeakMap<object, EntryXattrs>();
  if (typeof decode === 'function') {
    internals._decodeLongHeader = function (this: ExtractInternals, buf: Buffer) {
      decode.call(this, buf);
      if (this._header?.type === 'pax-header' && this._pax) raw.set(this._pax, xattrRecords(buf));
    };
  }
  let warned = false;
  const garbled = (name: string) => {
    if (!warned) warn(`extended attribute values that are not UTF-8 text (such as ${name}) cannot be read byte for byte, and were left out`);
    warned = true;
  };
  return (header) => {
    const pax = header.pax as Record<string, string> | null | undefined;
    if (!pax) return NO_XATTRS;
    return raw.get(pax) ?? textXattrs(pax, garbled);
  };
}

/** The `SCHILY.xattr.*` records of a PAX header: `<length> <key>=<value>\n`, the length counting the whole record in bytes. */
function xattrRecords(buf: Buffer): EntryXattrs {
  const xattrs = new Map<string, Buffer>();
  let offset = 0;
  while (offset < buf.length) {
    const space = buf.indexOf(0x20, offset);
    if (space < 0) break;
    const length = Number(buf.toString('latin1', offset, space));
    const end = offset + length;
    // Malformed records end the header, as tar-stream's own decoding does.
    if (!Number.isSafeInteger(length) || end <= space || end > buf.length) break;
    const record = buf.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    if (equals < 0) break;
    const key = record.toString('utf8', 0, equals);
    if (key.startsWith(XATTR_RECORD_PREFIX)) xattrs.set(key.slice(XATTR_RECORD_PREFIX.length), Buffer.from(record.subarray(equals + 1)));
    offset = end;
  }
  return xattrs;
}

function textXattrs(pax: Record<string, string>, garbled: (name: string) => void): EntryXattrs {
  const xattrs = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(pax)) {
    if (!key.startsWith(XATTR_RECORD_PREFIX)) continue;
    const name = key.slice(XATTR_RECORD_PREFIX.length);
    if (value.includes('\uFFFD')) garbled(name);
    else xattrs.set(name, Buffer.from(value, 'utf8'));
  }
  return xattrs;
}
