import { execFileSync } from 'node:child_process';
import { chmod, chown, lchown, link, lstat, mkdir, readdir, readFile, readlink, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '../testing/archive-fixtures';
import { copyUp, resolveInRoot } from './volume-copy-up';

const asRoot = process.getuid?.() === 0 ? it : it.skip;

describe('volume copy-up', () => {
  let base: string;
  let rootfs: string;
  let volume: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ dir: base, cleanup } = await makeTempDir('berth-copy-up-'));
    rootfs = join(base, 'rootfs');
    volume = join(base, 'vol', '_data');
    await mkdir(join(rootfs, 'data', 'sub'), { recursive: true });
    await mkdir(volume, { recursive: true, mode: 0o755 });
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await cleanup();
  });

  /** The volume's parent holds nothing but the volume: no copy left half-way beside it. */
  const besideVolume = () => readdir(join(base, 'vol'));

  it('copies files, directories, symlinks, hard links and fifos with their modes and times, and gives the volume the directory’s mode', async () => {
    const data = join(rootfs, 'data');
    await writeFile(join(data, 'hello.txt'), 'from the image\n');
    await chmod(join(data, 'hello.txt'), 0o640);
    await writeFile(join(data, 'sub', 'run.sh'), '#!/bin/sh\n');
    await chmod(join(data, 'sub', 'run.sh'), 0o755);
    await link(join(data, 'hello.txt'), join(data, 'sub', 'alias.txt'));
    await symlink('../hello.txt', join(data, 'sub', 'up'));
    await symlink('/etc/passwd', join(data, 'abs'));
    execFileSync('mkfifo', ['-m', '600', join(data, 'pipe')]);
    const old = new Date('2001-02-03T04:05:06Z');
    await utimes(join(data, 'hello.txt'), old, old);
    await utimes(join(data, 'sub'), old, old);
    await chmod(data, 0o750);

    await copyUp(rootfs, '/data', volume);

    expect((await readdir(volume)).sort()).toEqual(['abs', 'hello.txt', 'pipe', 'sub']);
    expect((await readdir(join(volume, 'sub'))).sort()).toEqual(['alias.txt', 'run.sh', 'up']);
    await expect(readFile(join(volume, 'hello.txt'), 'utf8')).resolves.toBe('from the image\n');
    await expect(readFile(join(volume, 'sub', 'up'), 'utf8')).resolves.toBe('from the image\n');
    expect(await readlink(join(volume, 'abs'))).toBe('/etc/passwd');
    const [file, alias, script, sub, pipe, root] = await Promise.all(
      ['hello.txt', 'sub/alias.txt', 'sub/run.sh', 'sub', 'pipe', '.'].map((p) => lstat(join(volume, p))),
    );
    expect(file.mode & 0o7777).toBe(0o640);
    expect(alias.ino).toBe(file.ino);
    expect(script.mode & 0o7777).toBe(0o755);
    expect(file.mtime).toEqual(old);
    expect(sub.mtime).toEqual(old);
    expect(pipe.isFIFO() && pipe.mode & 0o7777).toBe(0o600);
    expect(root.mode & 0o7777).toBe(0o750);
    expect(await besideVolume()).toEqual(['_data']);
  });

  asRoot('keeps owners and set-id bits, of the volume’s directory too', async () => {
    const data = join(rootfs, 'data');
    await writeFile(join(data, 'tool'), 'x');
    await chown(join(data, 'tool'), 1234, 5678);
    await chmod(join(data, 'tool'), 0o4755);
    await symlink('tool', join(data, 'link'));
    await lchown(join(data, 'link'), 1234, 5678);
    await chown(data, 999, 999);

    await copyUp(rootfs, '/data', volume);

    const [tool, linkStats, root] = await Promise.all(['tool', 'link', '.'].map((p) => lstat(join(volume, p))));
    expect([tool.uid, tool.gid, tool.mode & 0o7777]).toEqual([1234, 5678, 0o4755]);
    expect([linkStats.uid, linkStats.gid]).toEqual([1234, 5678]);
    expect([root.uid, root.gid]).toEqual([999, 999]);
  });

  it('never writes into a volume that has anything in it', async () => {
    await writeFile(join(rootfs, 'data', 'hello.txt'), 'from the image\n');
    await chmod(join(rootfs, 'data'), 0o700);
    await writeFile(join(volume, 'hello.txt'), 'mine\n');

    await copyUp(rootfs, '/data', volume);

    expect(await readdir(volume)).toEqual(['hello.txt']);
    await expect(readFile(join(volume, 'hello.txt'), 'utf8')).resolves.toBe('mine\n');
    expect((await stat(volume)).mode & 0o7777).toBe(0o755);
  });

  it('copies nothing when the image has nothing at the path, or a file', async () => {
    await writeFile(join(rootfs, 'file'), 'not a directory');
    await copyUp(rootfs, '/missing/deeper', volume);
    await copyUp(rootfs, '/file', volume);
    expect(await readdir(volume)).toEqual([]);
    expect((await stat(volume)).mode & 0o7777).toBe(0o755);
    expect(await besideVolume()).toEqual(['_data']);
  });

  it('follows symlinks at the path inside the image, never out of it on the host', async () => {
    await mkdir(join(base, 'host-secrets'));
    await writeFile(join(base, 'host-secrets', 'key'), 'host only');
    await writeFile(join(rootfs, 'data', 'hello.txt'), 'from the image\n');
    await symlink('/data', join(rootfs, 'absolute'));
    await symlink('../../../host-secrets', join(rootfs, 'escape'));
    await symlink(join(base, 'host-secrets'), join(rootfs, 'host-path'));

    await copyUp(rootfs, '/absolute', volume);
    expect((await readdir(volume)).sort()).toEqual(['hello.txt', 'sub']);

    for (const path of ['/escape', '/host-path']) {
      const other = join(base, path, '_data');
      await mkdir(other, { recursive: true });
      await copyUp(rootfs, path, other);
      expect(await readdir(other)).toEqual([]);
    }
  });

  it('resolves paths inside a root: absolute links restart there, .. stops there, loops fail', async () => {
    await mkdir(join(rootfs, 'etc'));
    await symlink('/etc', join(rootfs, 'data', 'etc'));
    await symlink('../../../..', join(rootfs, 'data', 'up'));
    await symlink('loop-b', join(rootfs, 'loop-a'));
    await symlink('loop-a', join(rootfs, 'loop-b'));

    await expect(resolveInRoot(rootfs, '/data/etc/passwd')).resolves.toBe(join(rootfs, 'etc', 'passwd'));
    await expect(resolveInRoot(rootfs, '/data/up/etc')).resolves.toBe(join(rootfs, 'etc'));
    await expect(resolveInRoot(rootfs, '/../../data/./sub/')).resolves.toBe(join(rootfs, 'data', 'sub'));
    await expect(resolveInRoot(rootfs, '/missing/../data')).resolves.toBe(join(rootfs, 'data'));
    await expect(resolveInRoot(rootfs, '/loop-a/x')).rejects.toMatchObject({ reason: 'SymlinkLoop' });
  });

  it('leaves the volume as it was when the copy fails part way', async () => {
    await writeFile(join(rootfs, 'data', 'a.txt'), 'a');
    await writeFile(join(rootfs, 'data', 'sub', 'b.txt'), 'b');
    // The module's own fs/promises, whose copyFile the copy calls: the second file fails as on a full disk.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fsPromises: typeof import('node:fs/promises') = require('node:fs/promises');
    const copyFile = fsPromises.copyFile;
    let calls = 0;
    jest.spyOn(fsPromises, 'copyFile').mockImplementation(async (...args: Parameters<typeof copyFile>) => {
      if (++calls === 2) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      return copyFile(...args);
    });

    await expect(copyUp(rootfs, '/data', volume)).rejects.toMatchObject({ reason: 'VolumeCopyUpFailed', message: expect.stringContaining('ENOSPC') });

    expect(calls).toBe(2);
    expect(await readdir(volume)).toEqual([]);
    expect(await besideVolume()).toEqual(['_data']);
  });
});
