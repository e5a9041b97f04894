import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { InvalidArgumentError, NotFoundError } from '@berth/domain';
import { ApiConfig } from '../config';
import { UploadStore } from './upload-store.service';

describe('UploadStore (on a temp dir)', () => {
  let dir: string;
  let store: UploadStore;
  const files = () => readdir(join(dir, 'uploads')).catch(() => [] as string[]);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-uploads-'));
    store = new UploadStore({ dataDir: dir, secret: 's'.repeat(40), maxUploadBytes: 16 } as ApiConfig);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('saves a body with its size and SHA-256, and opens it again', async () => {
    const saved = await store.save(Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    expect(saved).toEqual({ id: expect.stringMatching(/^upl_[0-9a-z]{26}$/), sizeBytes: 11, sha256: createHash('sha256').update('hello world').digest('hex') });
    await expect(files()).resolves.toEqual([`${saved.id}.tar`]);
    const { stream, sizeBytes } = await store.open(saved.id);
    expect(sizeBytes).toBe(11);
    await expect(text(stream as Readable)).resolves.toBe('hello world');
  });

  it('refuses an empty body (EmptyUpload, naming the body) and keeps nothing', async () => {
    await expect(store.save(Readable.from([]))).rejects.toMatchObject({ reason: 'EmptyUpload', violations: [{ field: 'body' }] });
    await expect(files()).resolves.toEqual([]);
  });

  it('refuses a body over the limit (UploadTooLarge) and keeps nothing', async () => {
    const failing = store.save(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]));
    await expect(failing).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(failing).rejects.toMatchObject({ reason: 'UploadTooLarge' });
    await expect(files()).resolves.toEqual([]);
  });

  it('answers UploadNotFound for an upload it does not have, and refuses an id that is not one', async () => {
    await expect(store.open('upl_00000000000000000000000000')).rejects.toMatchObject({ reason: 'UploadNotFound' });
    expect(() => store.path('../../etc/passwd')).toThrow(NotFoundError);
    await expect(store.open('../secret')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('removes an upload, and removing it twice is harmless', async () => {
    const saved = await store.save(Readable.from([Buffer.from('x')]));
    await store.remove(saved.id);
    await expect(store.remove(saved.id)).resolves.toBeUndefined();
    await expect(files()).resolves.toEqual([]);
  });

  it('signs download links that verify for a day, for that upload only', () => {
    const now = Date.UTC(2026, 11, 1);
    const id = 'upl_00000000000000000000000001';
    const link = new URL(store.signedPath(id, now), 'http://api');
    expect(link.pathname).toBe(`/v1/internal/uploads/${id}`);
    const [expires, sig] = [link.searchParams.get('expires')!, link.searchParams.get('sig')!];
    expect(Number(expires)).toBe(now + 24 * 3600 * 1000);
    expect(store.verify(id, expires, sig, now + 1000)).toBe(true);
    expect(store.verify('upl_00000000000000000000000002', expires, sig, now)).toBe(false);
    expect(store.verify(id, expires, `${sig}x`, now)).toBe(false);
    expect(store.verify(id, expires, sig, now + 24 * 3600 * 1000 + 1)).toBe(false);
    expect(new UploadStore({ dataDir: dir, secret: 't'.repeat(40), maxUploadBytes: 16 } as ApiConfig).verify(id, expires, sig, now)).toBe(false);
  });
});
