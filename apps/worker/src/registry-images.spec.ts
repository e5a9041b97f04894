import type { LoadedImage, OperationProgress, SealedLogin } from '@berth/domain';
import type { PullOptions } from '@berth/runtime';
import { RegistryImages, RegistryStore } from './registry-images';

const D = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;

function fakeStore(stored: Array<{ digest: string; storedAt: Date }>) {
  const calls: string[] = [];
  const store = {
    list: async () => stored.map((s) => ({ ...s, sizeBytes: 1, configDigest: D(9) })),
    remove: async (digest: string) => {
      calls.push(`remove ${digest}`);
      return true;
    },
    gc: async () => {
      calls.push('gc');
      return { blobsRemoved: 3, layersRemoved: 2, bytesFreed: 1234 };
    },
    pull: async (reference: string, _client: unknown, options: PullOptions = {}): Promise<LoadedImage> => {
      calls.push(`pull ${reference}`);
      for (let i = 0; i <= 4; i++) options.onProgress?.({ layersDone: i, layersTotal: 4, bytesDone: i * 10, bytesTotal: 40 });
      return { references: [reference], digest: D(1), configDigest: D(2), sizeBytes: 40, config: {}, os: 'linux', architecture: 'amd64' };
    },
    history: async () => [{ emptyLayer: false, sizeBytes: 40, createdBy: 'ADD layer' }],
    resolve: async (digest: string) => {
      calls.push(`resolve ${digest}`);
      return { digest, config: {}, layerDirs: [] };
    },
    push: async () => ({ digest: D(1), uploaded: [], skipped: [] }),
  };
  return { store: store as unknown as RegistryStore, calls };
}

function recorder() {
  const progress: OperationProgress[] = [];
  const loaded: LoadedImage[][] = [];
  return {
    progress,
    loaded,
    reports: {
      progress: async (_op: string, p: OperationProgress) => void progress.push(p),
      imagesLoaded: async (_op: string, _team: string, images: LoadedImage[]) => void loaded.push(images),
    },
  };
}

describe('RegistryImages', () => {
  const at = new Date('2026-01-01T12:00:00Z');

  it('removes what the job names, sparing images in use and images stored since the API looked, then collects garbage', async () => {
    const { store, calls } = fakeStore([
      { digest: D(1), storedAt: new Date(at.getTime() - 60_000) },
      { digest: D(3), storedAt: new Date(at.getTime() - 60_000) },
      { digest: D(4), storedAt: new Date(at.getTime() + 1_000) },
      { digest: D(5), storedAt: new Date(at.getTime() - 60_000) },
    ]);
    const images = new RegistryImages(store, recorder().reports, { insecureRegistries: [], removalGraceMs: 10_000 });
    const result = await images.remove({ operationId: 'op', teamId: 't', digests: [D(1), D(3), D(4)], at: at.toISOString() }, new Set([D(3)]));
    expect(result).toEqual({ removed: [D(1)], kept: [D(3), D(4)], blobsRemoved: 3, layersRemoved: 2, bytesFreed: 1234 });
    expect(calls).toEqual([`remove ${D(1)}`, 'gc']);
  });

  it('with a keep list, removes everything else that is old enough and unused', async () => {
    const { store, calls } = fakeStore([
      { digest: D(1), storedAt: new Date(0) },
      { digest: D(3), storedAt: new Date(0) },
      { digest: D(5), storedAt: new Date(0) },
    ]);
    const images = new RegistryImages(store, recorder().reports, { insecureRegistries: [] });
    const result = await images.remove({ operationId: 'op', teamId: 't', keep: [D(1)], at: at.toISOString() }, new Set([D(5)]));
    expect(result).toMatchObject({ removed: [D(3)], kept: [D(5)] });
    expect(calls).toEqual([`remove ${D(3)}`, 'gc']);
  });

  it('reports progress at most every interval (and always the end), unpacks, and records a tag reference with history', async () => {
    const { store, calls } = fakeStore([]);
    const rec = recorder();
    const images = new RegistryImages(store, rec.reports, { insecureRegistries: [], progressEveryMs: 60_000 });
    const image = await images.pull({ operationId: 'op', teamId: 't', reference: '127.0.0.1:5000/a/b:1' });
    expect(rec.progress).toEqual([
      { layersDone: 0, layersTotal: 4, bytesDone: 0, bytesTotal: 40 },
      { layersDone: 4, layersTotal: 4, bytesDone: 40, bytesTotal: 40 },
    ]);
    expect(image.references).toEqual(['127.0.0.1:5000/a/b:1']);
    expect(image.history).toEqual([{ emptyLayer: false, sizeBytes: 40, createdBy: 'ADD layer' }]);
    expect(rec.loaded).toEqual([[image]]);
    expect(calls).toEqual(['pull 127.0.0.1:5000/a/b:1', `resolve ${D(1)}`]);
  });

  it('records no reference for an image pulled by digest alone', async () => {
    const { store } = fakeStore([]);
    const images = new RegistryImages(store, recorder().reports, { insecureRegistries: [] });
    const image = await images.pull({ operationId: 'op', teamId: 't', reference: `127.0.0.1:5000/a/b@${D(7)}` });
    expect(image.references).toEqual([]);
  });

  it('opens the sealed login a job carries with the host key, for the job’s team, and fails clearly without a key', async () => {
    const { store } = fakeStore([]);
    const opened: Array<[SealedLogin, string]> = [];
    const logins = {
      open: (sealed: SealedLogin, teamId: string) => {
        opened.push([sealed, teamId]);
        return { server: '127.0.0.1:5000', username: 'u', password: 'p' };
      },
    };
    const sealed: SealedLogin = { v: 1, epk: 'A'.repeat(43) + '=', iv: 'A'.repeat(16), box: 'AAAA' };
    const images = new RegistryImages(store, recorder().reports, { insecureRegistries: [], logins });
    await images.pull({ operationId: 'op', teamId: 't', reference: '127.0.0.1:5000/a/b:1', login: sealed });
    expect(opened).toEqual([[sealed, 't']]);
    const keyless = new RegistryImages(store, recorder().reports, { insecureRegistries: [] });
    await expect(keyless.pull({ operationId: 'op', teamId: 't', reference: 'busybox', login: sealed })).rejects.toMatchObject({
      errorClass: 'FailedPrecondition',
      reason: 'NoSealingKey',
    });
  });
});
