import { once } from 'events';
import { readdir } from 'fs/promises';
import * as path from 'path';
import { Readable } from 'stream';
import { gunzipSync } from 'zlib';
import { NotFoundError } from '@berth/domain';
import { makeTempDir, packFiles, parseJson, readTarFiles } from '../testing/archive-fixtures';
import { BuildImage, buildImageArchive, LayerEntry } from '../testing/image-builder';
import { sha256Digest } from './digests';
import { ImageStore } from './image-store';
import { MediaType } from './media-types';
import { detectCompression } from './streams';

const baseLayer: LayerEntry[] = [
  { path: '/etc', type: 'directory' },
  { path: '/etc/os-release', type: 'file', content: 'ID=berth\n' },
];
const busybox: BuildImage = {
  references: ['busybox:latest'],
  layers: [
    baseLayer,
    [
      { path: '/bin', type: 'directory' },
      { path: '/bin/sh', type: 'file', content: Buffer.alloc(70_000, 3), mode: 0o755 },
    ],
  ],
  config: { cmd: ['sh'] },
};
const app: BuildImage = {
  references: ['127.0.0.1:5000/team/app:1.2'],
  layers: [
    baseLayer,
    [
      { path: '/app', type: 'directory' },
      { path: '/app/main', type: 'file', content: 'main' },
    ],
  ],
  config: { entrypoint: ['/app/main'] },
};

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** What a layer's diff_id is computed over. */
function uncompressed(layer: Buffer): Buffer {
  return detectCompression(layer) === 'gzip' ? gunzipSync(layer) : layer;
}

describe('ImageStore.export', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let store: ImageStore;
  let busyboxDigest: string;
  let appDigest: string;

  beforeEach(async () => {
    ({ dir: root, cleanup } = await makeTempDir('berth-export-'));
    store = new ImageStore({ root: path.join(root, 'store'), platform: { os: 'linux', architecture: 'amd64' } });
    const loaded = await store.loadArchive(Readable.from([await buildImageArchive({ format: 'oci', images: [busybox, app] })]));
    [busyboxDigest, appDigest] = loaded.map((image) => image.digest);
  });
  afterEach(() => cleanup());

  const exportBoth = () =>
    store.export([
      { digest: busyboxDigest, references: ['busybox:latest', 'docker.io/library/busybox:1.36'] },
      { digest: appDigest, references: ['127.0.0.1:5000/team/app:1.2'] },
    ]);

  it('writes an OCI layout that loads back into a fresh store with the same digests and names', async () => {
    const archive = await readAll(await exportBoth());
    const fresh = new ImageStore({ root: path.join(root, 'fresh'), platform: { os: 'linux', architecture: 'amd64' } });

    const loaded = await fresh.loadArchive(Readable.from([archive]));

    expect(loaded.map(({ digest, references }) => ({ digest, references }))).toEqual([
      { digest: busyboxDigest, references: ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36'] },
      { digest: appDigest, references: ['127.0.0.1:5000/team/app:1.2'] },
    ]);
    const files = await readTarFiles(archive);
    expect(parseJson(files.get('oci-layout'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = parseJson(files.get('index.json'));
    expect(index.manifests.map((m: Record<string, unknown>) => ({ digest: m.digest, annotations: m.annotations }))).toEqual([
      { digest: busyboxDigest, annotations: { 'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'latest' } },
      { digest: busyboxDigest, annotations: { 'io.containerd.image.name': 'docker.io/library/busybox:1.36', 'org.opencontainers.image.ref.name': '1.36' } },
      { digest: appDigest, annotations: { 'io.containerd.image.name': '127.0.0.1:5000/team/app:1.2', 'org.opencontainers.image.ref.name': '1.2' } },
    ]);
    for (const descriptor of index.manifests) {
      const manifest = files.get(`blobs/sha256/${descriptor.digest.slice(7)}`)!;
      expect(descriptor).toMatchObject({ mediaType: MediaType.OciManifest, size: manifest.length });
    }
  });

  it('writes the docker save manifest.json and repositories over the same blobs, each blob once', async () => {
    const archive = await readAll(await exportBoth());
    const files = await readTarFiles(archive);
    const manifest = parseJson(files.get('manifest.json'));

    expect(manifest.map((e: { RepoTags: string[] }) => e.RepoTags)).toEqual([['busybox:latest', 'busybox:1.36'], ['127.0.0.1:5000/team/app:1.2']]);
    for (const entry of manifest) {
      const members = [entry.Config, ...entry.Layers];
      for (const member of members) {
        expect(member).toMatch(/^blobs\/sha256\/[a-f0-9]{64}$/);
        expect(sha256Digest(files.get(member)!)).toBe(`sha256:${member.slice('blobs/sha256/'.length)}`);
      }
      const config = parseJson(files.get(entry.Config));
      expect(config.rootfs.diff_ids).toEqual(entry.Layers.map((layer: string) => sha256Digest(uncompressed(files.get(layer)!))));
    }
    const repositories = parseJson(files.get('repositories'));
    expect(Object.keys(repositories)).toEqual(['busybox', '127.0.0.1:5000/team/app']);
    expect(Object.keys(repositories.busybox)).toEqual(['latest', '1.36']);
    expect(repositories['127.0.0.1:5000/team/app']['1.2']).toMatch(/^[a-f0-9]{64}$/);

    // The shared base layer is in the tar once: 2 manifests, 2 configs, 3 layers.
    expect([...files.keys()].filter((name) => name.startsWith('blobs/'))).toHaveLength(7);

    // A reader of docker save archives alone (no index.json) sees the same images.
    files.delete('index.json');
    files.delete('oci-layout');
    const fresh = new ImageStore({ root: path.join(root, 'docker'), platform: { os: 'linux', architecture: 'amd64' } });
    const loaded = await fresh.loadArchive(Readable.from([await packFiles(files)]));
    expect(loaded.map((image) => image.references)).toEqual([
      ['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36'],
      ['127.0.0.1:5000/team/app:1.2'],
    ]);
    expect((await fresh.resolve(loaded[0].digest)).layerDirs).toHaveLength(2);
  });

  it('exports an image under no name', async () => {
    const files = await readTarFiles(await readAll(await store.export([{ digest: appDigest, references: [] }])));

    expect(parseJson(files.get('index.json')).manifests).toEqual([{ mediaType: MediaType.OciManifest, digest: appDigest, size: expect.any(Number) }]);
    expect(parseJson(files.get('manifest.json'))[0].RepoTags).toEqual([]);
  });

  it('rejects an unknown image before streaming anything', async () => {
    await expect(store.export([{ digest: sha256Digest('nothing'), references: [] }])).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.export([])).rejects.toMatchObject({ errorClass: 'InvalidArgument' });
  });

  it('keeps the blobs it streams from gc until the stream closes', async () => {
    const stream = await store.export([{ digest: appDigest, references: [] }]);
    await store.remove(appDigest);

    const during = await store.gc();
    stream.destroy();
    await once(stream, 'close');
    const after = await store.gc();

    expect(during.blobsRemoved).toBe(0);
    expect(after.blobsRemoved).toBe(3);
    expect(await readdir(path.join(root, 'store/blobs/sha256'))).toHaveLength(4);
  });
});
