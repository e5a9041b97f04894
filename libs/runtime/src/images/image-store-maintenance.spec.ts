import { readdir, readFile, stat, writeFile } from 'fs/promises';
import * as path from 'path';
import { Readable } from 'stream';
import { InvalidArgumentError, NotFoundError } from '@berth/domain';
import { isRoot, makeTempDir } from '../testing/archive-fixtures';
import { BuildImage, buildImageArchive, LayerEntry } from '../testing/image-builder';
import { sha256Digest } from './digests';
import { ImageStore } from './image-store';

const baseLayer: LayerEntry[] = [
  { path: '/etc', type: 'directory' },
  { path: '/etc/os-release', type: 'file', content: 'ID=berth\n' },
  { path: '/bin', type: 'directory' },
  { path: '/bin/tool', type: 'file', content: Buffer.alloc(4096, 1), mode: 0o755 },
];
/** Only root can unpack into directories it made read-only (tree-removal.spec covers the rest). */
const lockedLayer: LayerEntry[] = [
  { path: '/srv', type: 'directory', mode: isRoot ? 0o555 : 0o755 },
  { path: '/srv/readme', type: 'file', content: 'read only', mode: 0o444 },
  { path: '/srv/sealed', type: 'directory', mode: isRoot ? 0o000 : 0o755 },
  { path: '/srv/sealed/inner', type: 'file', content: Buffer.alloc(1000, 2), mode: 0o000 },
  { path: '/srv/sealed/inner-link', type: 'link', linkname: 'srv/sealed/inner' },
];
const appImage: BuildImage = {
  references: ['app:1'],
  layers: [baseLayer, lockedLayer],
  config: { cmd: ['/bin/tool'] },
  history: [
    { createdBy: '/bin/sh -c #(nop) ADD file:base in /' },
    { createdBy: '/bin/sh -c #(nop) ENV MODE=test', emptyLayer: true },
    { createdBy: '/bin/sh -c make install', comment: 'built by berth' },
    { createdBy: '/bin/sh -c #(nop) CMD ["/bin/tool"]', emptyLayer: true },
  ],
};
const otherImage: BuildImage = { references: ['other:1'], layers: [baseLayer], config: { cmd: ['sh'] } };

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('ImageStore maintenance', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let store: ImageStore;

  beforeEach(async () => {
    ({ dir: root, cleanup } = await makeTempDir('berth-store-'));
    store = new ImageStore({ root, platform: { os: 'linux', architecture: 'amd64' } });
    await store.init();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await cleanup();
  });

  const load = async (image: BuildImage) => (await store.loadArchive(Readable.from([await buildImageArchive({ format: 'oci', images: [image] })])))[0];
  const record = async (digest: string) => JSON.parse(await readFile(path.join(root, 'manifests/sha256', `${digest.slice(7)}.json`), 'utf8'));
  const names = (dir: string) => readdir(path.join(root, dir)).then((n) => n.sort());

  describe('history', () => {
    it('lists the build steps newest first with the compressed size of the layer each made', async () => {
      const image = await load(appImage);
      const [base, locked] = (await record(image.digest)).layers.map((l: { size: number }) => l.size);

      await expect(store.history(image.digest)).resolves.toEqual([
        { created: '1970-01-01T00:00:00Z', createdBy: '/bin/sh -c #(nop) CMD ["/bin/tool"]', emptyLayer: true, sizeBytes: 0 },
        { created: '1970-01-01T00:00:00Z', createdBy: '/bin/sh -c make install', comment: 'built by berth', emptyLayer: false, sizeBytes: locked },
        { created: '1970-01-01T00:00:00Z', createdBy: '/bin/sh -c #(nop) ENV MODE=test', emptyLayer: true, sizeBytes: 0 },
        { created: '1970-01-01T00:00:00Z', createdBy: '/bin/sh -c #(nop) ADD file:base in /', emptyLayer: false, sizeBytes: base },
      ]);
    });

    it('lists one step per layer when the config has no history', async () => {
      const image = await load({ ...appImage, history: [] });
      const [base, locked] = (await record(image.digest)).layers.map((l: { size: number }) => l.size);

      await expect(store.history(image.digest)).resolves.toEqual([
        { emptyLayer: false, sizeBytes: locked },
        { emptyLayer: false, sizeBytes: base },
      ]);
    });

    it('throws ImageNotFound for an unknown image', async () => {
      await expect(store.history(sha256Digest('nothing'))).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('remove', () => {
    it('forgets the record and keeps the blobs', async () => {
      const image = await load(appImage);
      const blobs = await names('blobs/sha256');

      await expect(store.remove(image.digest)).resolves.toBe(true);
      await expect(store.remove(image.digest)).resolves.toBe(false);

      await expect(store.has(image.digest)).resolves.toBe(false);
      await expect(store.list()).resolves.toEqual([]);
      await expect(names('blobs/sha256')).resolves.toEqual(blobs);
    });

    it('refuses what is not a digest', async () => {
      await expect(store.remove('../../etc/passwd')).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('gc', () => {
    it('removes the blobs and unpacked layers only removed images used, read-only directories and all', async () => {
      const app = await load(appImage);
      const other = await load(otherImage);
      await store.resolve(app.digest);
      await store.resolve(other.digest);
      const appRecord = await record(app.digest);
      const [baseLayer, lockedLayer] = appRecord.layers.map((l: { digest: string }) => l.digest);
      const unshared = [app.digest, appRecord.configDigest, lockedLayer];
      let blobBytes = 0;
      for (const digest of unshared) blobBytes += (await stat(path.join(root, 'blobs/sha256', digest.slice(7)))).size;
      await writeFile(path.join(root, 'blobs/sha256', 'not-a-digest'), 'left alone');

      await expect(store.gc()).resolves.toEqual({ blobsRemoved: 0, layersRemoved: 0, bytesFreed: 0 });
      await store.remove(app.digest);
      const result = await store.gc();

      // The locked layer holds 9 bytes of readme and one 1000-byte file linked twice.
      expect(result).toEqual({ blobsRemoved: 3, layersRemoved: 1, bytesFreed: blobBytes + 9 + 1000 });
      const remaining = await names('blobs/sha256');
      for (const digest of unshared) expect(remaining).not.toContain(digest.slice(7));
      expect(remaining).toContain('not-a-digest');
      await expect(names('layers/sha256')).resolves.toEqual([baseLayer.slice(7)]);
      await expect(names('tmp')).resolves.toEqual([]);
      await expect(store.resolve(other.digest)).resolves.toMatchObject({ digest: other.digest });
      await expect(store.gc()).resolves.toEqual({ blobsRemoved: 0, layersRemoved: 0, bytesFreed: 0 });
    });

    it('never runs between a load committing its blobs and writing its record', async () => {
      const archive = await buildImageArchive({ format: 'oci', images: [appImage] });
      const entered = gate();
      const release = gate();
      const proto = ImageStore.prototype as unknown as { writeRecord: (...args: unknown[]) => Promise<void> };
      const writeRecord = proto.writeRecord;
      jest.spyOn(proto, 'writeRecord').mockImplementation(async function (this: unknown, ...args: unknown[]) {
        entered.open();
        await release.opened;
        return writeRecord.apply(this, args);
      });

      const loading = store.loadArchive(Readable.from([archive]));
      await entered.opened;
      expect(await names('blobs/sha256')).toHaveLength(4);
      let collected = false;
      const collecting = store.gc().then((result) => {
        collected = true;
        return result;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(collected).toBe(false);

      release.open();
      const [image] = await loading;
      await expect(collecting).resolves.toEqual({ blobsRemoved: 0, layersRemoved: 0, bytesFreed: 0 });
      await expect(store.resolve(image.digest)).resolves.toMatchObject({ digest: image.digest });
    });
  });
});
