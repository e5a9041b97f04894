import * as tar from 'tar-stream';

export type TarHeader = Parameters<tar.Pack['entry']>[0];

export interface TarEntry {
  header: TarHeader;
  content?: Buffer;
}

/** Packs entries, in the order given, into an in-memory tar. */
export async function packTar(entries: TarEntry[]): Promise<Buffer> {
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
