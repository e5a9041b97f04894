import { readFile } from 'fs/promises';
import * as path from 'path';
import { Readable } from 'stream';
import { blobName, makeTempDir, parseJson, readTarFiles } from '../testing/archive-fixtures';
import { buildImageArchive, storedZstdFrame } from '../testing/image-builder';
import { sha256Digest } from './digests';
import { ImageStore } from './image-store';
import { unpackLayer } from './layer-unpack';
import { MediaType } from './media-types';
import { decompressed } from './streams';

/**
 * A layer tar (etc/, etc/motd, etc/numbers) compressed by the zstd tool at level
 * 19 with a content checksum: Huffman- and FSE-coded blocks, not raw ones.
 */
const ZSTD_LAYER = Buffer.from(
  [
    'KLUv/WQAJxUTACpJjAgcYGlKmgMImP/ebKxlvwmCIBAiIiJEyhUUAEeU254AdgB2AEfdmnWojza6aKKHFjro0qQDfbPNNdM8s8wxd+Yc5pNNLpnkkUUOuTLl',
    'IF9sccUUTyxxxI0Zh/i69erUp0uP3s4e+nHjxYkPFx68nPy2a3qW484DycBABQkOBECQgAEHBh9YoGABAwQsKEABAwcOFCg4SIAAggMGCAYMIkg1QkXowIID',
    'EBwYhGCQIIAFChIwGAMGoUPBYKaCAQADLDgIMbzDOTwMP+EmvIST8BEuwkN4hVN4EH7BLXgFp+ATXIJH8AZn8BD8yq28yql8yqU8ylvO8lB+5EZe5EQ+5EIe',
    '5CUneSC/wC3wCpwCn8Al8Ai8gTPwEPjddtdN99xyx92bd7jPNrtssscWO+zatIN9tdVVUz21VFP7tEt7tLed7aH92I292Il92IU92MtO9sB+oVvoFTqFPqFL',
    '6BF6Q2foIfQ7bsfrOB2f43I8jvc4j4fjZ9yMl3EyPsbFeBivcRoPxq+4Fa/iVHyKS/Eo3uIsHoofcSNexIn4EBfiQbzESTwQv+E2vIbT8BkuwwN33a7Xdbo+',
    '1+V6XO91Xg/Xz7pZL+tkfayL9bBe67QerF91q17VqfpUl+pRvdVZPVQ/6ka9qBP1oS7Ug3qpk3qgftNtek2n6TNdpsf0Tuf0MP2km/SSTtJHukgP6ZVO6UH6',
    'RbfoFZ2iT3SJHtEbndFD9Gu39moDFSAgL2yZxQHVhR5IgXwFUukBNqZqHbaY2gACTryqrAD4v2DVrSPA0T7RAMCdRx2QUz5KcMBBA4yn9waUJDLG',
  ].join(''),
  'base64',
);
const ZSTD_LAYER_DIFF_ID = 'sha256:4fbd72e02d7bf27845961aef0773b09630744dfee86f61c1e4f97883f9a0b837';

/** Feeds `data` in small pieces, as a network would. */
function inChunks(data: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size) chunks.push(data.subarray(offset, offset + size));
  return Readable.from(chunks);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('zstd layers', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir('berth-zstd-'));
  });
  afterEach(() => cleanup());

  it('decompresses a zstd stream fed in small chunks', async () => {
    const { stream, compression } = await decompressed(inChunks(ZSTD_LAYER, 7));

    expect(compression).toBe('zstd');
    expect(sha256Digest(await readAll(stream))).toBe(ZSTD_LAYER_DIFF_ID);
  });

  it('unpacks a zstd layer and checks its digest and diff_id', async () => {
    const unpacked = await unpackLayer(inChunks(ZSTD_LAYER, 100), dir, {
      expectedDigest: sha256Digest(ZSTD_LAYER),
      expectedDiffId: ZSTD_LAYER_DIFF_ID,
    });

    expect(unpacked).toEqual({ digest: sha256Digest(ZSTD_LAYER), size: ZSTD_LAYER.length, diffId: ZSTD_LAYER_DIFF_ID });
    await expect(readFile(path.join(dir, 'etc/motd'), 'utf8')).resolves.toBe('compressed with zstd\n'.repeat(50));
    await expect(readFile(path.join(dir, 'etc/numbers'), 'utf8')).resolves.toMatch(/^0\n1\n2\n[\s\S]*\n299\n$/);
  });

  it('rejects a truncated zstd layer as invalid', async () => {
    await expect(unpackLayer(Readable.from([ZSTD_LAYER.subarray(0, 300)]), dir)).rejects.toMatchObject({ reason: 'InvalidLayer' });
  });

  // fzstd skips the frame's content checksum; the diff_id is what catches damage the decoder survives.
  it.each([40, 200, 400])('rejects a zstd layer damaged at byte %d', async (offset) => {
    const damaged = Buffer.from(ZSTD_LAYER);
    damaged[offset] ^= 0xff;
    await expect(unpackLayer(Readable.from([damaged]), dir, { expectedDiffId: ZSTD_LAYER_DIFF_ID })).rejects.toMatchObject({
      reason: expect.stringMatching(/^(InvalidLayer|DigestMismatch)$/),
    });
  });

  it.each([0, 1, 128 * 1024, 300 * 1024 + 5])('writes stored zstd frames the decoder reads back (%d bytes)', async (size) => {
    const data = Buffer.alloc(size, 'berth');
    const frame = storedZstdFrame(data);

    const { stream } = await decompressed(inChunks(frame, 4096));
    expect((await readAll(stream)).equals(data)).toBe(true);
  });

  it('loads and resolves an OCI image whose layers are zstd', async () => {
    const archive = await buildImageArchive({
      format: 'oci',
      images: [
        {
          references: ['zstd:1'],
          compression: 'zstd',
          layers: [
            [
              { path: '/etc', type: 'directory' },
              { path: '/etc/motd', type: 'file', content: 'hello' },
            ],
            [
              { path: '/etc/motd', type: 'whiteout' },
              { path: '/big', type: 'file', content: Buffer.alloc(200 * 1024, 7) },
            ],
          ],
        },
      ],
    });
    const files = await readTarFiles(archive);
    const manifest = parseJson(files.get(blobName(parseJson(files.get('index.json')).manifests[0].digest)));
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([MediaType.OciLayerZstd, MediaType.OciLayerZstd]);
    const store = new ImageStore({ root: dir, platform: { os: 'linux', architecture: 'amd64' } });

    const [image] = await store.loadArchive(Readable.from([archive]));
    const { layerDirs } = await store.resolve(image.digest);

    await expect(readFile(path.join(layerDirs[0], 'etc/motd'), 'utf8')).resolves.toBe('hello');
    await expect(readFile(path.join(layerDirs[1], 'big'))).resolves.toEqual(Buffer.alloc(200 * 1024, 7));
  });
});
