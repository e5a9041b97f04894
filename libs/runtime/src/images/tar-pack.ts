import * as tar from 'tar-stream';

export type TarHeader = Parameters<tar.Pack['entry']>[0];

export interface TarEntry {
  header: TarHeader;
  content?: Buffer;
  /**
   * PAX records (such as `SCHILY.xattr.<name>`) for a PAX header of their own
   * before the entry, written byte for byte: tar-stream's `pax` header field
   * writes values as UTF-8 text, which binary xattr values are not.
   */
  pax?: Record<string, string | Buffer>;
}

const BLOCK = 512;
const TYPEFLAG_OFFSET = 156;
const CHECKSUM_OFFSET = 148;
const CHECKSUM_LENGTH = 8;
/** Two zero blocks end a tar. */
const END_OF_TAR_LENGTH = 2 * BLOCK;
/** A name ustar holds as it is (99: tar-stream appends `/` to directories). */
const USTAR_NAME = /^[\x20-\x7e]{1,99}$/;

/** Packs entries, in the order given, into an in-memory tar. */
export async function packTar(entries: TarEntry[]): Promise<Buffer> {
  if (!entries.some((entry) => entry.pax)) return packWithTarStream(entries);
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const { header, pax } = entry.pax ? namesIntoPax(entry.header, entry.pax) : entry;
    if (pax) parts.push(await paxHeader(pax, header.mtime));
    parts.push((await packWithTarStream([{ header, content: entry.content }])).subarray(0, -END_OF_TAR_LENGTH));
  }
  parts.push(Buffer.alloc(END_OF_TAR_LENGTH));
  return Buffer.concat(parts);
}

async function packWithTarStream(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const packed = new Promise<Buffer>((resolve, reject) => {
    pack.on('data', (chunk) => chunks.push(chunk as Buffer));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
  for (const { header, content } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      const isFile = header.type === undefined || header.type === 'file' || header.type === 'contiguous-file';
      if (content || isFile) pack.entry(header, content ?? Buffer.alloc(0), done);
      else pack.entry(header, done);
    });
  }
  pack.finalize();
  return packed;
}

/**
 * tar-stream gives a name ustar cannot hold a PAX header of its own, and an
 * entry takes only the last PAX header before it: such names go into ours.
 */
function namesIntoPax(header: TarHeader, pax: Record<string, string | Buffer>): { header: TarHeader; pax: Record<string, string | Buffer> } {
  const plain = { ...header };
  const records = { ...pax };
  if (!USTAR_NAME.test(header.name)) {
    records.path = header.name;
    plain.name = 'PaxEntry';
  }
  if (header.linkname && !USTAR_NAME.test(header.linkname)) {
    records.linkpath = header.linkname;
    plain.linkname = 'PaxEntry';
  }
  return { header: plain, pax: records };
}

/** A typeflag `x` header and its records. tar-stream packs no body for that type, so a file header is retyped. */
async function paxHeader(records: Record<string, string | Buffer>, mtime: Date | undefined): Promise<Buffer> {
  const body = Buffer.concat(Object.entries(records).map(([key, value]) => paxRecord(key, value)));
  const packed = await packWithTarStream([{ header: { name: 'PaxHeader', type: 'file', mode: 0o644, mtime: mtime ?? new Date(0) }, content: body }]);
  const blocks = Buffer.from(packed.subarray(0, -END_OF_TAR_LENGTH));
  blocks[TYPEFLAG_OFFSET] = 'x'.charCodeAt(0);
  blocks.fill(' ', CHECKSUM_OFFSET, CHECKSUM_OFFSET + CHECKSUM_LENGTH);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += blocks[i];
  blocks.write(`${sum.toString(8).padStart(6, '0')}\0 `, CHECKSUM_OFFSET, 'latin1');
  return blocks;
}

/** `<length> <key>=<value>\n`, where the length counts the whole record, its own digits included. */
function paxRecord(key: string, value: string | Buffer): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let length = rest.length + 1;
  while (String(length).length + rest.length !== length) length = String(length).length + rest.length;
  return Buffer.concat([Buffer.from(String(length)), rest]);
}
