import { existsSync } from 'fs';
import { writeFile } from 'fs/promises';
import * as path from 'path';
import { makeTempDir } from '../../testing/archive-fixtures';
import { BlobStaging } from './pull';

describe('BlobStaging', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let downloads: number;

  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir('berth-staging-'));
    downloads = 0;
  });
  afterEach(() => cleanup());

  const download = (name: string) => async () => {
    downloads++;
    const file = path.join(dir, name);
    await writeFile(file, name);
    return file;
  };

  it('downloads a blob once for all who want it and removes the file after the last release', async () => {
    const staging = new BlobStaging();
    const first = staging.acquire('sha256:a', download('a1'));
    const second = staging.acquire('sha256:a', download('a2'));

    const [file, same] = await Promise.all([first.file, second.file]);
    expect(same).toBe(file);
    expect(downloads).toBe(1);

    await first.release();
    await first.release();
    expect(existsSync(file!)).toBe(true);
    await second.release();
    expect(existsSync(file!)).toBe(false);
    expect(staging.size).toBe(0);
  });

  it('forgets a failed download, and a stale release leaves the next one alone', async () => {
    const staging = new BlobStaging();
    const failed = staging.acquire('sha256:b', () => Promise.reject(new Error('reset')));
    await expect(failed.file).rejects.toThrow('reset');

    const retry = staging.acquire('sha256:b', download('b'));
    const file = await retry.file;
    await failed.release();

    expect(downloads).toBe(1);
    expect(existsSync(file!)).toBe(true);
    await retry.release();
    expect(existsSync(file!)).toBe(false);
  });
});
