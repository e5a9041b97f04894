import { createHash } from 'crypto';
import { lstat, readdir, readFile, writeFile } from 'fs/promises';
import * as path from 'path';
import { Readable } from 'stream';
import { NotFoundError, PermissionDeniedError } from '@berth/domain';
import { blobName, makeTempDir, parseJson, readTarFiles } from '../../testing/archive-fixtures';
import { BuildImage, buildImageArchive, LayerEntry } from '../../testing/image-builder';
import { RegistryServer, startRegistry } from '../../testing/local-registry';
import { isOpaque, overlayView } from '../../testing/overlay-view';
import { digestHex } from '../digests';
import { ImageStore } from '../image-store';
import { MediaType, Platform } from '../media-types';
import { PullProgress } from './pull';
import { RegistryClient } from './registry-client';
import type { RegistryClientOptions } from './registry-options';

const AMD64: Platform = { os: 'linux', architecture: 'amd64' };
const USER = { username: 'berth', password: 'correct horse' };

/** Deterministic incompressible bytes, so that layers are large enough to arrive in many chunks. */
function noise(size: number, seed: string): Buffer {
  const chunks: Buffer[] = [];
  for (let i = 0; chunks.length * 32 < size; i++) chunks.push(createHash('sha256').update(`${seed}:${i}`).digest());
  return Buffer.concat(chunks).subarray(0, size);
}

/** Three layers: a base, one that deletes a file and empties a directory, and one more. */
function layeredImage(seed: string, references: string[] = []): BuildImage {
  const base: LayerEntry[] = [
    { path: '/etc', type: 'directory' },
    { path: '/etc/os-release', type: 'file', content: `ID=berth-${seed}\n` },
    { path: '/etc/old.conf', type: 'file', content: 'old' },
    { path: '/var', type: 'directory' },
    { path: '/var/cache', type: 'directory' },
    { path: '/var/cache/stale-a', type: 'file', content: 'a' },
    { path: '/var/cache/stale-b', type: 'file', content: 'b' },
    { path: '/bin', type: 'directory' },
    { path: '/bin/tool', type: 'file', content: noise(300 * 1024, `${seed}-tool`), mode: 0o755 },
    { path: '/bin/tool-alias', type: 'link', linkname: 'bin/tool' },
    { path: '/bin/sh', type: 'symlink', linkname: 'tool' },
  ];
  const changes: LayerEntry[] = [
    { path: '/etc/old.conf', type: 'whiteout' },
    { path: '/var/cache', type: 'directory' },
    { path: '/var/cache', type: 'opaque' },
    { path: '/var/cache/fresh', type: 'file', content: 'fresh' },
    { path: '/app', type: 'directory' },
    { path: '/app/main', type: 'file', content: noise(200 * 1024, `${seed}-main`), mode: 0o755 },
    { path: '/app/main-hardlink', type: 'link', linkname: 'app/main' },
    { path: '/app/current', type: 'symlink', linkname: 'main' },
  ];
  const data: LayerEntry[] = [
    { path: '/data', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
    { path: '/data/blob', type: 'file', content: noise(100 * 1024, `${seed}-data`), uid: 1000, gid: 1000 },
  ];
  return { references, layers: [base, changes, data], config: { cmd: ['/app/main'], env: [`SEED=${seed}`] } };
}

interface CountingClient {
  client: RegistryClient;
  /** GET /v2/<repo>/blobs/<digest> requests, by digest. */
  blobGets: Map<string, number>;
}

function countingClient(options: RegistryClientOptions = {}): CountingClient {
  const blobGets = new Map<string, number>();
  const client = new RegistryClient({
    ...options,
    fetch: (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const match = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(new URL(url).pathname);
      if (match && (init?.method ?? 'GET') === 'GET') blobGets.set(match[1], (blobGets.get(match[1]) ?? 0) + 1);
      return fetch(input, init);
    },
  });
  return { client, blobGets };
}

const withLogin = (credentials: { username: string; password: string }): RegistryClientOptions => ({
  credentials: async () => credentials,
});

interface StoreUnderTest {
  store: ImageStore;
  root: string;
}

describe('pushing to and pulling from a real registry (docker-registry)', () => {
  let registry: RegistryServer;
  let secured: RegistryServer;
  const cleanups: Array<() => Promise<void>> = [];

  /** The image every pull test starts from, pushed as <registry>/team/app:1.2 from `source`. */
  let source: StoreUnderTest;
  let appDigest: string;
  let appReference: string;

  const newStore = async (platform: Platform = AMD64): Promise<StoreUnderTest> => {
    const { dir, cleanup } = await makeTempDir('berth-pull-');
    cleanups.push(cleanup);
    const store = new ImageStore({ root: dir, platform });
    await store.init();
    return { store, root: dir };
  };

  const loadInto = async (target: StoreUnderTest, image: BuildImage, format: 'oci' | 'docker' = 'oci') => {
    const [loaded] = await target.store.loadArchive(Readable.from([await buildImageArchive({ format, images: [image] })]));
    return loaded;
  };

  const storeContents = async (root: string) => ({
    manifests: await readdir(path.join(root, 'manifests/sha256')),
    blobs: await readdir(path.join(root, 'blobs/sha256')),
    layers: await readdir(path.join(root, 'layers/sha256')),
    tmp: await readdir(path.join(root, 'tmp')),
  });

  /** The digests of the manifest, config and layers of a stored image. */
  const blobsOfImage = async (root: string, digest: string): Promise<string[]> => {
    const manifest = JSON.parse(await readFile(path.join(root, 'blobs/sha256', digestHex(digest)), 'utf8'));
    return [digest, manifest.config.digest, ...manifest.layers.map((l: { digest: string }) => l.digest)];
  };

  beforeAll(async () => {
    [registry, secured] = await Promise.all([startRegistry(), startRegistry({ auth: USER })]);
    source = await newStore();
    appReference = `${registry.host}/team/app:1.2`;
    appDigest = (await loadInto(source, layeredImage('app'))).digest;
    await source.store.push(appReference, appDigest, new RegistryClient());
  });

  afterAll(async () => {
    await Promise.all([registry?.stop(), secured?.stop()]);
    for (const cleanup of cleanups) await cleanup();
  });

  it('pulls back byte for byte what it pushed, and the unpacked layers show the whiteouts as overlayfs expects', async () => {
    const again = await source.store.push(appReference, appDigest, new RegistryClient());
    expect(again.uploaded).toEqual([]);
    expect(again.skipped).toHaveLength(4);

    const target = await newStore();
    const pulled = await target.store.pull(appReference, new RegistryClient());

    expect(pulled).toMatchObject({ digest: appDigest, references: [appReference], os: 'linux', architecture: 'amd64' });
    expect(pulled.config).toEqual({ cmd: ['/app/main'], env: ['SEED=app'] });
    const blobs = await blobsOfImage(source.root, appDigest);
    expect(blobs).toHaveLength(5);
    for (const digest of blobs) {
      const [sent, received] = await Promise.all([source.root, target.root].map((root) => readFile(path.join(root, 'blobs/sha256', digestHex(digest)))));
      expect(received.equals(sent)).toBe(true);
    }

    const { layerDirs } = await target.store.resolve(appDigest);
    expect(layerDirs).toHaveLength(3);
    // As the layers hold them: the deleted file is a 0/0 character device, the emptied directory is opaque.
    const whiteout = await lstat(path.join(layerDirs[1], 'etc/old.conf'));
    expect(whiteout.isCharacterDevice() && whiteout.rdev === 0).toBe(true);
    await expect(isOpaque(path.join(layerDirs[1], 'var/cache'))).resolves.toBe(true);
    await expect(isOpaque(path.join(layerDirs[0], 'var/cache'))).resolves.toBe(false);

    // As overlayfs would merge them.
    const view = await overlayView(layerDirs);
    expect(view.has('etc/old.conf')).toBe(false);
    expect(view.get('etc/os-release')).toMatchObject({ type: 'file', layer: 0 });
    expect([...view.keys()].filter((p) => p.startsWith('var/cache/'))).toEqual(['var/cache/fresh']);
    expect(view.get('bin/sh')).toMatchObject({ type: 'symlink', linkname: 'tool' });
    expect(view.get('app/current')).toMatchObject({ type: 'symlink', linkname: 'main' });
    for (const [file, alias] of [
      ['bin/tool', 'bin/tool-alias'],
      ['app/main', 'app/main-hardlink'],
    ]) {
      expect(view.get(alias)!.stat.ino).toBe(view.get(file)!.stat.ino);
      expect(view.get(file)!.stat.nlink).toBe(2);
    }
    expect(view.get('data/blob')!.stat).toMatchObject({ uid: 1000, gid: 1000 });
    expect(view.get('data')!.stat.mode & 0o7777).toBe(0o750);
    await expect(readFile(path.join(layerDirs[0], 'bin/tool'))).resolves.toEqual(noise(300 * 1024, 'app-tool'));
  });

  it('pushes and pulls an image loaded from a docker save archive (uncompressed layers)', async () => {
    const origin = await newStore();
    const loaded = await loadInto(origin, layeredImage('classic'), 'docker');
    const reference = `${registry.host}/classic:1`;
    const pushed = await origin.store.push(reference, loaded.digest, new RegistryClient());
    expect(pushed.uploaded).toHaveLength(4);

    const target = await newStore();
    await expect(target.store.pull(reference, new RegistryClient())).resolves.toMatchObject({ digest: loaded.digest });
    const view = await overlayView((await target.store.resolve(loaded.digest)).layerDirs);
    expect(view.has('etc/old.conf')).toBe(false);
    expect(view.has('var/cache/fresh')).toBe(true);
  });

  describe('a multi-platform image', () => {
    const platforms: Platform[] = [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ];
    const digests = new Map<string, string>();
    let reference: string;

    beforeAll(async () => {
      const archive = await buildImageArchive({
        format: 'oci',
        images: [],
        indexes: [
          {
            references: ['multi:1'],
            images: platforms.map((p) => ({
              references: [],
              os: p.os,
              architecture: p.architecture,
              variant: p.variant,
              layers: [[{ path: '/etc/platform', type: 'file', content: `${p.architecture}${p.variant ?? ''}` }]],
            })),
          },
        ],
      });
      // One store per platform picks that platform's image out of the index; each is pushed by digest.
      for (const platform of platforms) {
        const origin = await newStore(platform);
        const [image] = await origin.store.loadArchive(Readable.from([archive]));
        expect(image.architecture).toBe(platform.architecture);
        digests.set(platform.architecture, image.digest);
        await origin.store.push(`${registry.host}/multi@${image.digest}`, image.digest, new RegistryClient());
      }
      const files = await readTarFiles(archive);
      const indexDescriptor = parseJson(files.get('index.json')).manifests[0];
      expect(indexDescriptor.mediaType).toBe(MediaType.OciIndex);
      const client = new RegistryClient();
      await client.putManifest({ registry: registry.host, repository: 'multi' }, '1', MediaType.OciIndex, files.get(blobName(indexDescriptor.digest))!);
      reference = `${registry.host}/multi:1`;
    });

    it.each([
      [{ os: 'linux', architecture: 'arm64' }, 'arm64'],
      [{ os: 'linux', architecture: 'arm', variant: 'v7' }, 'arm'],
      [{ os: 'linux', architecture: 'amd64' }, 'amd64'],
    ])('pulls the manifest for %j', async (platform, architecture) => {
      const target = await newStore();
      const pulled = await target.store.pull(reference, new RegistryClient(), { platform });

      expect(pulled).toMatchObject({ digest: digests.get(architecture), architecture });
      const { layerDirs } = await target.store.resolve(pulled.digest);
      await expect(readFile(path.join(layerDirs[0], 'etc/platform'), 'utf8')).resolves.toBe(
        `${architecture}${platforms.find((p) => p.architecture === architecture)!.variant ?? ''}`,
      );
    });

    it("uses the store's platform by default", async () => {
      const target = await newStore({ os: 'linux', architecture: 'arm64' });
      await expect(target.store.pull(reference, new RegistryClient())).resolves.toMatchObject({ digest: digests.get('arm64') });
    });

    it('refuses a platform the index lacks, storing nothing', async () => {
      const target = await newStore();
      const pull = target.store.pull(reference, new RegistryClient(), { platform: { os: 'linux', architecture: 's390x' } });

      await expect(pull).rejects.toBeInstanceOf(NotFoundError);
      await expect(pull).rejects.toMatchObject({ reason: 'NoMatchingPlatform' });
      await expect(pull).rejects.toThrow(/linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7/);
      expect(await storeContents(target.root)).toEqual({ manifests: [], blobs: [], layers: [], tmp: [] });
    });
  });

  describe('with basic auth', () => {
    let origin: StoreUnderTest;
    let digest: string;
    const reference = () => `${secured.host}/private/app:1`;

    beforeAll(async () => {
      origin = await newStore();
      digest = (await loadInto(origin, layeredImage('private'))).digest;
    });

    it.each([
      ['no credentials', {}],
      ['a wrong password', withLogin({ ...USER, password: 'wrong' })],
      ['an unknown user', withLogin({ username: 'nobody', password: USER.password })],
    ])('refuses a push with %s', async (_, options) => {
      const push = origin.store.push(reference(), digest, new RegistryClient(options));

      await expect(push).rejects.toBeInstanceOf(PermissionDeniedError);
      await expect(push).rejects.toMatchObject({ reason: 'RegistryUnauthorized' });
    });

    it('pushes and pulls with the right credentials, and refuses pulls without them', async () => {
      const pushed = await origin.store.push(reference(), digest, new RegistryClient(withLogin(USER)));
      expect(pushed.uploaded).toHaveLength(4);

      const target = await newStore();
      for (const options of [{}, withLogin({ ...USER, password: 'wrong' })]) {
        const pull = target.store.pull(reference(), new RegistryClient(options));
        await expect(pull).rejects.toBeInstanceOf(PermissionDeniedError);
        await expect(pull).rejects.toMatchObject({ reason: 'RegistryUnauthorized' });
      }
      await expect(target.store.pull(reference(), new RegistryClient(withLogin(USER)))).resolves.toMatchObject({ digest });
      await expect(target.store.resolve(digest)).resolves.toMatchObject({ digest });
    });
  });

  it('rejects a blob the registry serves altered, leaving the store as it was', async () => {
    const origin = await newStore();
    const loaded = await loadInto(origin, layeredImage('tampered'));
    const reference = `${registry.host}/tampered/app:1`;
    await origin.store.push(reference, loaded.digest, new RegistryClient());
    const [, , ...layers] = await blobsOfImage(origin.root, loaded.digest);
    const served = registry.blobPath(layers[0]);
    const original = await readFile(served);
    await writeFile(served, Buffer.from(original.map((byte) => byte ^ 0x5a)));

    const target = await newStore();
    const pull = target.store.pull(reference, new RegistryClient());

    await expect(pull).rejects.toMatchObject({ reason: 'DigestMismatch' });
    await expect(pull).rejects.toThrow(layers[0]);
    expect(await storeContents(target.root)).toEqual({ manifests: [], blobs: [], layers: [], tmp: [] });
    await expect(target.store.list()).resolves.toEqual([]);
  });

  it('shares each blob download between two concurrent pulls of the same image', async () => {
    const target = await newStore();
    const { client, blobGets } = countingClient();

    const [first, second] = await Promise.all([target.store.pull(appReference, client), target.store.pull(appReference, client)]);

    expect(first.digest).toBe(appDigest);
    expect(second.digest).toBe(appDigest);
    const [, ...configAndLayers] = await blobsOfImage(source.root, appDigest);
    expect(Object.fromEntries(blobGets)).toEqual(Object.fromEntries(configAndLayers.map((d) => [d, 1])));
    expect((await storeContents(target.root)).tmp).toEqual([]);
    await expect(target.store.resolve(appDigest)).resolves.toMatchObject({ digest: appDigest });
  });

  it('fetches no layer a warm store has', async () => {
    const target = await newStore();
    await target.store.pull(appReference, new RegistryClient());

    const again = countingClient();
    await target.store.pull(appReference, again.client);
    expect(again.blobGets.size).toBe(0);

    // The record forgotten but the blobs kept: still nothing to fetch.
    await expect(target.store.remove(appDigest)).resolves.toBe(true);
    await target.store.pull(appReference, again.client);
    expect(again.blobGets.size).toBe(0);

    // Another image on the same layers: only its config is new.
    const sibling: BuildImage = { ...layeredImage('app'), config: { cmd: ['/bin/sh'] } };
    const siblingDigest = (await loadInto(source, sibling)).digest;
    await source.store.push(`${registry.host}/team/app:sibling`, siblingDigest, new RegistryClient());
    const siblingConfig = (await blobsOfImage(source.root, siblingDigest))[1];
    const counted = countingClient();
    await expect(target.store.pull(`${registry.host}/team/app:sibling`, counted.client)).resolves.toMatchObject({ digest: siblingDigest });
    expect([...counted.blobGets.keys()]).toEqual([siblingConfig]);
  });

  it('reports progress up to the totals', async () => {
    const target = await newStore();
    const events: PullProgress[] = [];

    await target.store.pull(appReference, new RegistryClient(), { onProgress: (p) => events.push(p) });

    const manifest = JSON.parse(await readFile(path.join(target.root, 'blobs/sha256', digestHex(appDigest)), 'utf8'));
    const bytesTotal = manifest.config.size + manifest.layers.reduce((sum: number, l: { size: number }) => sum + l.size, 0);
    expect(events[0]).toEqual({ layersDone: 0, layersTotal: 3, bytesDone: 0, bytesTotal });
    expect(events[events.length - 1]).toEqual({ layersDone: 3, layersTotal: 3, bytesDone: bytesTotal, bytesTotal });
    expect(events.length).toBeGreaterThan(5);
    for (let i = 1; i < events.length; i++) {
      expect(events[i].bytesDone).toBeGreaterThanOrEqual(events[i - 1].bytesDone);
      expect(events[i].layersDone).toBeGreaterThanOrEqual(events[i - 1].layersDone);
    }
  });

  it('keeps what a pull relies on while gc runs beside it', async () => {
    const target = await newStore();
    await target.store.pull(appReference, new RegistryClient());
    await target.store.remove(appDigest);

    // gc starts once the pull has found its first blob in the store, before it commits.
    let collecting: Promise<unknown> | undefined;
    const pulled = await target.store.pull(appReference, new RegistryClient(), {
      onProgress: (p) => {
        if (p.bytesDone > 0) collecting ??= target.store.gc();
      },
    });
    await expect(collecting).resolves.toEqual({ blobsRemoved: 0, layersRemoved: 0, bytesFreed: 0 });

    expect(pulled.digest).toBe(appDigest);
    const blobs = await blobsOfImage(target.root, appDigest);
    expect((await storeContents(target.root)).blobs.sort()).toEqual(blobs.map(digestHex).sort());
    await expect(target.store.resolve(appDigest)).resolves.toMatchObject({ digest: appDigest });
    await expect(target.store.gc()).resolves.toEqual({ blobsRemoved: 0, layersRemoved: 0, bytesFreed: 0 });
  });
});
