import { execFile } from 'child_process';
import { existsSync } from 'fs';
import { readFile, readlink, stat, writeFile } from 'fs/promises';
import * as path from 'path';
import { Readable } from 'stream';
import { promisify } from 'util';
import { gzipSync } from 'zlib';
import { NotFoundError } from '@berth/domain';
import { blobName, flipByteOf, listFiles, makeTempDir, packFiles, parseJson, readTarFiles } from '../testing/archive-fixtures';
import { BUSYBOX_IMAGE_CONFIG, busyboxLayer } from '../testing/busybox-layer';
import { buildImageArchive, BuildImage, LayerEntry } from '../testing/image-builder';
import { sha256Digest } from './digests';
import { ImageStore } from './image-store';
import * as layerUnpack from './layer-unpack';

const run = promisify(execFile);

const baseLayer: LayerEntry[] = [
  { path: '/etc', type: 'directory' },
  { path: '/etc/os-release', type: 'file', content: 'ID=berth\n' },
  { path: '/bin', type: 'directory' },
  { path: '/bin/hello', type: 'file', content: '#!/bin/sh\necho hello\n', mode: 0o755 },
];
const appLayer: LayerEntry[] = [
  { path: '/app', type: 'directory' },
  { path: '/app/main', type: 'file', content: 'main' },
  { path: '/app/current', type: 'symlink', linkname: 'main' },
];
const appImage: BuildImage = {
  references: ['example/app:1', 'localhost:5000/app:1'],
  layers: [baseLayer, appLayer],
  config: {
    entrypoint: ['/app/main'],
    cmd: ['--serve'],
    env: ['PATH=/bin', 'MODE=test'],
    workingDir: '/app',
    user: '1000:1000',
    labels: { team: 'berth' },
    exposedPorts: ['8080/tcp'],
    stopSignal: 'SIGINT',
  },
};

describe('ImageStore', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let store: ImageStore;

  beforeEach(async () => {
    ({ dir: root, cleanup } = await makeTempDir('berth-images-'));
    store = new ImageStore({ root, platform: { os: 'linux', architecture: 'amd64' } });
    await store.init();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await cleanup();
  });

  const storeFiles = async () => ({
    blobs: await listFiles(path.join(root, 'blobs/sha256')),
    manifests: await listFiles(path.join(root, 'manifests/sha256')),
    tmp: await listFiles(path.join(root, 'tmp')),
  });

  it('creates its layout on init', async () => {
    for (const dir of ['blobs/sha256', 'manifests/sha256', 'layers/sha256', 'tmp']) {
      expect(existsSync(path.join(root, dir))).toBe(true);
    }
  });

  describe('loading an OCI layout', () => {
    it('returns the manifest digest from index.json, the config summary and normalized references', async () => {
      const archive = await buildImageArchive({ format: 'oci', images: [appImage] });
      const files = await readTarFiles(archive);
      const index = parseJson(files.get('index.json'));
      const manifestDigest: string = index.manifests[0].digest;
      const manifest = parseJson(files.get(blobName(manifestDigest)));
      const layerSizes = manifest.layers.reduce((sum: number, l: { size: number }) => sum + l.size, 0);

      const [image, ...rest] = await store.loadArchive(Readable.from([archive]));

      expect(rest).toEqual([]);
      expect(image).toEqual({
        references: ['docker.io/example/app:1', 'localhost:5000/app:1'],
        digest: manifestDigest,
        configDigest: manifest.config.digest,
        sizeBytes: layerSizes + manifest.config.size,
        config: appImage.config,
        os: 'linux',
        architecture: 'amd64',
      });
      await expect(store.has(manifestDigest)).resolves.toBe(true);
      await expect(store.list()).resolves.toEqual([
        { digest: manifestDigest, sizeBytes: image.sizeBytes, configDigest: manifest.config.digest, storedAt: expect.any(Date) },
      ]);
      expect((await storeFiles()).blobs).toHaveLength(4);
      expect((await storeFiles()).tmp).toEqual([]);
    });

    it('gives the same digest when the same image is built and loaded again', async () => {
      const first = await store.loadArchive(Readable.from([await buildImageArchive({ format: 'oci', images: [appImage] })]));
      const second = await store.loadArchive(Readable.from([await buildImageArchive({ format: 'oci', images: [appImage] })]));

      expect(second[0].digest).toBe(first[0].digest);
      await expect(store.list()).resolves.toHaveLength(1);
    });

    it('reads a file path and a gzip-compressed archive', async () => {
      const archivePath = path.join(root, '..', `${path.basename(root)}.tar.gz`);
      await writeFile(archivePath, gzipSync(await buildImageArchive({ format: 'oci', images: [appImage] })));
      try {
        const [image] = await store.loadArchive(archivePath);
        expect(image.references).toContain('docker.io/example/app:1');
      } finally {
        await cleanupFile(archivePath);
      }
    });

    it("combines a tag-only ref.name with containerd's image name, as Docker >= 25 writes them", async () => {
      const files = await readTarFiles(await buildImageArchive({ format: 'oci', images: [{ ...appImage, references: [] }] }));
      const index = parseJson(files.get('index.json'));
      index.manifests[0].annotations = {
        'io.containerd.image.name': 'docker.io/library/busybox:latest',
        'org.opencontainers.image.ref.name': 'stable',
      };
      files.set('index.json', Buffer.from(JSON.stringify(index)));
      files.delete('manifest.json');

      const [image] = await store.loadArchive(Readable.from([await packFiles(files)]));

      expect(image.references).toEqual(['docker.io/library/busybox:stable']);
    });

    it('reads the OCI layout when the archive also has a docker manifest.json', async () => {
      const archive = await buildImageArchive({ format: 'oci', images: [appImage] });
      const files = await readTarFiles(archive);
      expect(files.has('manifest.json')).toBe(true);

      const [image] = await store.loadArchive(Readable.from([archive]));

      expect(image.digest).toBe(parseJson(files.get('index.json')).manifests[0].digest);
    });

    it('picks the linux/amd64 manifest of an image index', async () => {
      const files = await readTarFiles(
        await buildImageArchive({
          format: 'oci',
          images: [
            { ...appImage, references: [], architecture: 'arm64' },
            { ...appImage, references: [], architecture: 'amd64' },
          ],
        }),
      );
      const [arm, amd] = parseJson(files.get('index.json')).manifests;
      const platformIndex = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            { ...arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
            { ...amd, platform: { os: 'linux', architecture: 'amd64' } },
            { ...amd, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
          ],
        }),
      );
      files.set(blobName(sha256Digest(platformIndex)), platformIndex);
      files.set(
        'index.json',
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            manifests: [
              {
                mediaType: 'application/vnd.oci.image.index.v1+json',
                digest: sha256Digest(platformIndex),
                size: platformIndex.length,
                annotations: { 'org.opencontainers.image.ref.name': 'docker.io/library/multi:1' },
              },
            ],
          }),
        ),
      );
      files.delete('manifest.json');
      const archive = await packFiles(files);

      const [image] = await store.loadArchive(Readable.from([archive]));
      expect(image).toMatchObject({ digest: amd.digest, architecture: 'amd64', references: ['docker.io/library/multi:1'] });

      const armStore = new ImageStore({ root, platform: { os: 'linux', architecture: 'arm64' } });
      await expect(armStore.loadArchive(Readable.from([archive]))).resolves.toMatchObject([{ digest: arm.digest }]);
      const s390Store = new ImageStore({ root, platform: { os: 'linux', architecture: 's390x' } });
      await expect(s390Store.loadArchive(Readable.from([archive]))).rejects.toMatchObject({ reason: 'NoMatchingPlatform' });
    });
  });

  describe('loading a docker save archive', () => {
    it('synthesizes a stable manifest and reads RepoTags, config and uncompressed layers', async () => {
      const archive = await buildImageArchive({ format: 'docker', images: [appImage] });
      const files = await readTarFiles(archive);
      const [entry] = parseJson(files.get('manifest.json'));
      expect(entry.Layers[0]).toMatch(/^[a-f0-9]{64}\/layer\.tar$/);
      const layerSizes = entry.Layers.reduce((sum: number, name: string) => sum + files.get(name)!.length, 0);

      const [image] = await store.loadArchive(Readable.from([archive]));

      expect(image).toEqual({
        references: ['docker.io/example/app:1', 'localhost:5000/app:1'],
        digest: expect.stringMatching(/^sha256:[a-f0-9]{64}$/),
        configDigest: `sha256:${entry.Config.replace('.json', '')}`,
        sizeBytes: layerSizes + files.get(entry.Config)!.length,
        config: appImage.config,
        os: 'linux',
        architecture: 'amd64',
      });
      const manifest = JSON.parse(await readFile(path.join(root, 'blobs/sha256', image.digest.slice(7)), 'utf8'));
      expect(sha256Digest(JSON.stringify(manifest))).toBe(image.digest);
      expect(manifest.config.digest).toBe(image.configDigest);

      const again = await new ImageStore({ root: `${root}-2` }).loadArchive(Readable.from([archive]));
      await cleanupFile(`${root}-2`);
      expect(again[0].digest).toBe(image.digest);
    });

    it('follows legacy layer paths that are symlinks and accepts a gzip layer.tar', async () => {
      const files = await readTarFiles(await buildImageArchive({ format: 'docker', images: [appImage] }));
      const [entry] = parseJson(files.get('manifest.json'));
      const gzipped = gzipSync(files.get(entry.Layers[1])!);
      files.set(entry.Layers[1], gzipped);
      const { packTar } = await import('./tar-pack');
      const entries = [...files].map(([name, content]) => ({ header: { name, type: 'file' as const }, content }));
      entries.push({ header: { name: 'dup/layer.tar', type: 'symlink' as const, linkname: `../${entry.Layers[0]}` } as never, content: undefined as never });
      const manifest = [{ ...entry, Layers: ['dup/layer.tar', entry.Layers[1]] }];
      entries.find((e) => e.header.name === 'manifest.json')!.content = Buffer.from(JSON.stringify(manifest));

      const [image] = await store.loadArchive(Readable.from([await packTar(entries)]));
      const resolved = await store.resolve(image.digest);

      await expect(readFile(path.join(resolved.layerDirs[1], 'app/main'), 'utf8')).resolves.toBe('main');
      await expect(readFile(path.join(resolved.layerDirs[0], 'etc/os-release'), 'utf8')).resolves.toBe('ID=berth\n');
    });
  });

  it('returns one entry per image of a multi-image archive', async () => {
    const other: BuildImage = { references: ['other:2'], layers: [baseLayer], config: { cmd: ['sh'] }, compression: 'none' };
    for (const format of ['oci', 'docker'] as const) {
      const images = await store.loadArchive(Readable.from([await buildImageArchive({ format, images: [appImage, other] })]));

      expect(images.map((i) => i.references)).toEqual([['docker.io/example/app:1', 'localhost:5000/app:1'], ['docker.io/library/other:2']]);
      expect(images[1].config).toEqual({ cmd: ['sh'] });
      expect(new Set(images.map((i) => i.digest)).size).toBe(2);
    }
  });

  describe('a tampered archive', () => {
    it.each(['oci', 'docker'] as const)('is rejected (%s) and leaves nothing in the store', async (format) => {
      const archive = await buildImageArchive({ format, images: [appImage] });
      const files = await readTarFiles(archive);
      const layerName =
        format === 'oci'
          ? blobName(parseJson(files.get(blobName(parseJson(files.get('index.json')).manifests[0].digest))).layers[1].digest)
          : parseJson(files.get('manifest.json'))[0].Layers[1];
      const tampered = flipByteOf(archive, files.get(layerName)!);
      const before = await storeFiles();

      await expect(store.loadArchive(Readable.from([tampered]))).rejects.toMatchObject({
        errorClass: 'InvalidArgument',
        reason: 'DigestMismatch',
        message: expect.stringMatching(/expected digest sha256:[a-f0-9]{64}, got sha256:[a-f0-9]{64}/),
      });
      await expect(storeFiles()).resolves.toEqual(before);
      await expect(store.list()).resolves.toEqual([]);
    });

    it('is rejected when the archive is not an image at all', async () => {
      await expect(store.loadArchive(Readable.from([Buffer.from('not a tar archive, just text')]))).rejects.toMatchObject({ errorClass: 'InvalidArgument' });
      await expect(storeFiles()).resolves.toEqual({ blobs: [], manifests: [], tmp: [] });
    });
  });

  describe('resolve', () => {
    it('throws ImageNotFound for an unknown digest', async () => {
      const promise = store.resolve(sha256Digest('nothing'));
      await expect(promise).rejects.toBeInstanceOf(NotFoundError);
      await expect(promise).rejects.toMatchObject({ reason: 'ImageNotFound' });
      await expect(store.has(sha256Digest('nothing'))).resolves.toBe(false);
    });

    it('unpacks each layer once and returns the layer directories bottom first', async () => {
      const [image] = await store.loadArchive(Readable.from([await buildImageArchive({ format: 'oci', images: [appImage] })]));
      const unpack = jest.spyOn(layerUnpack, 'unpackLayer');

      const first = await store.resolve(image.digest);
      const second = await store.resolve(image.digest);

      expect(unpack).toHaveBeenCalledTimes(2);
      expect(second).toEqual(first);
      expect(first.digest).toBe(image.digest);
      expect(first.config).toEqual(appImage.config);
      expect(first.layerDirs).toHaveLength(2);
      for (const dir of first.layerDirs) {
        expect(path.dirname(dir)).toBe(path.join(root, 'layers/sha256'));
        expect((await stat(dir)).mode & 0o777).toBe(0o755);
      }
      await expect(readFile(path.join(first.layerDirs[0], 'bin/hello'), 'utf8')).resolves.toContain('echo hello');
      await expect(readlink(path.join(first.layerDirs[1], 'app/current'))).resolves.toBe('main');
      expect(await listFiles(path.join(root, 'tmp'))).toEqual([]);
    });

    it('shares one unpack between concurrent resolves', async () => {
      const [image] = await store.loadArchive(Readable.from([await buildImageArchive({ format: 'docker', images: [appImage] })]));
      const unpack = jest.spyOn(layerUnpack, 'unpackLayer');

      const results = await Promise.all([store.resolve(image.digest), store.resolve(image.digest), store.resolve(image.digest)]);

      expect(unpack).toHaveBeenCalledTimes(2);
      expect(results[1]).toEqual(results[0]);
      expect(results[2]).toEqual(results[0]);
    });

    it('leaves no layer behind when a stored blob no longer matches its digest', async () => {
      const [image] = await store.loadArchive(Readable.from([await buildImageArchive({ format: 'oci', images: [appImage] })]));
      const record = JSON.parse(await readFile(path.join(root, 'manifests/sha256', `${image.digest.slice(7)}.json`), 'utf8'));
      const blob = path.join(root, 'blobs/sha256', record.layers[0].digest.slice(7));
      await writeFile(blob, gzipSync(Buffer.alloc(1024)));

      await expect(store.resolve(image.digest)).rejects.toMatchObject({ reason: expect.stringMatching(/DigestMismatch|InvalidLayer/) });
      expect(await listFiles(path.join(root, 'layers/sha256'))).not.toContain(record.layers[0].digest.slice(7));
      expect(await listFiles(path.join(root, 'tmp'))).toEqual([]);
    });
  });

  const withBusybox = existsSync('/bin/busybox') ? it : it.skip;

  withBusybox('loads and unpacks a busybox image whose shell runs', async () => {
    const archive = await buildImageArchive({
      format: 'oci',
      images: [{ references: ['busybox:latest'], layers: [await busyboxLayer()], config: BUSYBOX_IMAGE_CONFIG }],
    });

    const [image] = await store.loadArchive(Readable.from([archive]));
    const { layerDirs } = await store.resolve(image.digest);

    expect(image.references).toEqual(['docker.io/library/busybox:latest']);
    expect(image.config).toEqual({ cmd: ['sh'], env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] });
    await expect(readlink(path.join(layerDirs[0], 'bin/sh'))).resolves.toBe('busybox');
    const { stdout } = await run(path.join(layerDirs[0], 'bin/busybox'), ['echo', 'hi']);
    expect(stdout).toBe('hi\n');
  });
});

async function cleanupFile(file: string) {
  const { rm } = await import('fs/promises');
  await rm(file, { recursive: true, force: true });
}
