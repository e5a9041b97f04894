import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '@berth/domain';
import { VolumeStore } from './volume-store';

describe('VolumeStore.resolve', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-volumes-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('makes volumes and asks for copy-up unless noCopy; never for tmpfs', async () => {
    const store = new VolumeStore(root);
    const [data, cache] = [newId('volume'), newId('volume')];
    const [copied, kept, scratch] = await store.resolve([
      { type: 'volume', target: '/data', volumeId: data },
      { type: 'volume', target: '/cache', volumeId: cache, noCopy: true, readOnly: true },
      { type: 'tmpfs', target: '/tmp' },
    ]);
    expect(copied).toEqual({ type: 'bind', source: store.dataDir(data), destination: '/data', readOnly: false, copyUp: true });
    expect(kept).toEqual({ type: 'bind', source: store.dataDir(cache), destination: '/cache', readOnly: true, copyUp: false });
    expect(scratch).not.toHaveProperty('copyUp');
    expect((await stat(copied.source!)).isDirectory()).toBe(true);
  });
});
