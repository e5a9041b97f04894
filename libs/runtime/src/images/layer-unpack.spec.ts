import { execFile } from 'child_process';
import { lstat, mkdir, readFile, readlink, stat, writeFile } from 'fs/promises';
import * as path from 'path';
import { Readable } from 'stream';
import { promisify } from 'util';
import { gzipSync } from 'zlib';
import { sha256Digest } from './digests';
import { layerPathComponents, unpackLayer } from './layer-unpack';
import { packTar, TarEntry } from './tar-pack';
import { isRoot, makeTempDir } from './testing/archive-fixtures';

const run = promisify(execFile);
const EPOCH = new Date(0);
const file = (name: string, content: string, extra: Partial<TarEntry['header']> = {}): TarEntry => ({
  header: { name, type: 'file', mode: 0o644, mtime: EPOCH, ...extra },
  content: Buffer.from(content),
});
const dir = (name: string, extra: Partial<TarEntry['header']> = {}): TarEntry => ({
  header: { name, type: 'directory', mode: 0o755, mtime: EPOCH, ...extra },
});
const symlink = (name: string, linkname: string): TarEntry => ({ header: { name, type: 'symlink', linkname, mtime: EPOCH } });
const hardlink = (name: string, linkname: string): TarEntry => ({ header: { name, type: 'link', linkname, mtime: EPOCH } });
const asStream = (data: Buffer) => Readable.from([data]);

describe('layerPathComponents', () => {
  it('resolves names lexically below the root', () => {
    expect(layerPathComponents('./a/b/')).toEqual(['a', 'b']);
    expect(layerPathComponents('/etc/passwd')).toEqual(['etc', 'passwd']);
    expect(layerPathComponents('a/../b')).toEqual(['b']);
    expect(layerPathComponents('./')).toEqual([]);
  });

  it.each(['../x', '/abs/../../x', 'a/../../x', '..'])('rejects %s', (name) => {
    expect(() => layerPathComponents(name)).toThrow(expect.objectContaining({ reason: 'UnsafeLayerPath' }));
  });
});

describe('unpackLayer', () => {
  let base: string;
  let target: string;
  let outside: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ dir: base, cleanup } = await makeTempDir('berth-unpack-'));
    target = path.join(base, 'layer');
    outside = path.join(base, 'outside');
    await mkdir(outside);
    await writeFile(path.join(outside, 'secret'), 'host data');
  });
  afterEach(() => cleanup());

  it('extracts files, directories, symlinks and hard links with their metadata', async () => {
    const layer = await packTar([
      dir('etc/', { mode: 0o750 }),
      file('etc/hosts', 'hosts', { mode: 0o640, uid: 1000, gid: 1001, mtime: new Date(86_400_000) }),
      file('bin/tool', '#!/bin/sh\n', { mode: 0o4755 }),
      symlink('bin/alias', 'tool'),
      symlink('abs', '/etc/shadow'),
      hardlink('bin/tool2', 'bin/tool'),
    ]);

    const result = await unpackLayer(asStream(layer), target);

    expect(result.diffId).toBe(sha256Digest(layer));
    expect(result.digest).toBe(sha256Digest(layer));
    await expect(readFile(path.join(target, 'etc/hosts'), 'utf8')).resolves.toBe('hosts');
    const hosts = await stat(path.join(target, 'etc/hosts'));
    expect(hosts.mode & 0o7777).toBe(0o640);
    expect(hosts.mtimeMs).toBe(86_400_000);
    expect((await stat(path.join(target, 'etc'))).mode & 0o7777).toBe(0o750);
    expect((await stat(path.join(target, 'bin'))).mode & 0o7777).toBe(0o755);
    expect((await stat(path.join(target, 'bin/tool'))).mode & 0o7777).toBe(0o4755);
    await expect(readlink(path.join(target, 'bin/alias'))).resolves.toBe('tool');
    await expect(readlink(path.join(target, 'abs'))).resolves.toBe('/etc/shadow');
    expect((await stat(path.join(target, 'bin/tool2'))).ino).toBe((await stat(path.join(target, 'bin/tool'))).ino);
    if (isRoot) {
      expect(hosts.uid).toBe(1000);
      expect(hosts.gid).toBe(1001);
    }
  });

  it('detects gzip by its magic bytes and checks digest and diff_id', async () => {
    const layer = await packTar([file('a.txt', 'a')]);
    const gzipped = gzipSync(layer);
    const blobPath = path.join(base, 'blob');
    await writeFile(blobPath, gzipped);

    const result = await unpackLayer(blobPath, target, { expectedDigest: sha256Digest(gzipped), expectedDiffId: sha256Digest(layer) });

    expect(result).toEqual({ digest: sha256Digest(gzipped), size: gzipped.length, diffId: sha256Digest(layer) });
    await expect(readFile(path.join(target, 'a.txt'), 'utf8')).resolves.toBe('a');
  });

  it('rejects a layer whose content does not match its diff_id', async () => {
    const layer = await packTar([file('a.txt', 'a')]);
    const wrong = sha256Digest('something else');

    await expect(unpackLayer(asStream(gzipSync(layer)), target, { expectedDiffId: wrong })).rejects.toMatchObject({
      errorClass: 'InvalidArgument',
      reason: 'DigestMismatch',
      message: expect.stringContaining(wrong),
    });
  });

  it('rejects content that is not a tar', async () => {
    await expect(unpackLayer(asStream(gzipSync(Buffer.alloc(1024, 7))), target)).rejects.toMatchObject({ reason: 'InvalidLayer' });
  });

  it.each([
    ['a parent-relative name', [file('../x', 'escaped')]],
    ['an absolute name that climbs out', [file('/abs/../../x', 'escaped')]],
  ])('rejects %s and writes nothing outside the root', async (_name, entries) => {
    await expect(unpackLayer(asStream(await packTar(entries)), target)).rejects.toMatchObject({ reason: 'UnsafeLayerPath' });
    await expect(lstat(path.join(base, 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('never writes through a symlink the layer planted as a parent', async () => {
    const layer = await packTar([symlink('a', outside), file('a/secret', 'overwritten'), file('a/new', 'planted')]);

    await expect(unpackLayer(asStream(layer), target)).rejects.toMatchObject({
      reason: 'UnsafeLayerPath',
      message: expect.stringContaining('symlink "a"'),
    });
    await expect(readFile(path.join(outside, 'secret'), 'utf8')).resolves.toBe('host data');
    await expect(lstat(path.join(outside, 'new'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a relative symlink parent too', async () => {
    const layer = await packTar([symlink('b', '../outside'), file('b/new', 'planted')]);

    await expect(unpackLayer(asStream(layer), target)).rejects.toMatchObject({ reason: 'UnsafeLayerPath' });
    await expect(lstat(path.join(outside, 'new'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('replaces a symlink at the final component instead of following it', async () => {
    const layer = await packTar([symlink('f', path.join(outside, 'secret')), file('f', 'layer data')]);

    await unpackLayer(asStream(layer), target);

    await expect(readFile(path.join(outside, 'secret'), 'utf8')).resolves.toBe('host data');
    expect((await lstat(path.join(target, 'f'))).isFile()).toBe(true);
  });

  it.each([
    ['a hard link whose target climbs out', () => [hardlink('h', '../outside/secret')]],
    ['a hard link through a symlink', () => [symlink('s', outside), hardlink('h', 's/secret')]],
  ])('rejects %s', async (_name, entries) => {
    await expect(unpackLayer(asStream(await packTar(entries())), target)).rejects.toMatchObject({ reason: 'UnsafeLayerPath' });
    expect((await stat(path.join(outside, 'secret'))).nlink).toBe(1);
  });

  const asRoot = isRoot ? it : it.skip;

  asRoot('turns whiteouts into 0/0 character devices and opaque markers into the overlay xattr', async () => {
    const layer = await packTar([
      dir('gone-parent/'),
      file('gone-parent/.wh.removed', ''),
      dir('opaque/'),
      file('opaque/.wh..wh..opq', ''),
      file('opaque/kept', 'kept'),
      file('.wh..wh.plnk', ''),
    ]);

    await unpackLayer(asStream(layer), target);

    const whiteout = await lstat(path.join(target, 'gone-parent/removed'));
    expect(whiteout.isCharacterDevice()).toBe(true);
    expect(whiteout.rdev).toBe(0);
    await expect(lstat(path.join(target, 'gone-parent/.wh.removed'))).rejects.toMatchObject({ code: 'ENOENT' });
    const { stdout } = await run('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', path.join(target, 'opaque')]);
    expect(stdout).toBe('y');
    await expect(readFile(path.join(target, 'opaque/kept'), 'utf8')).resolves.toBe('kept');
    await expect(lstat(path.join(target, 'opaque/.wh..wh..opq'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(lstat(path.join(target, '.wh..wh.plnk'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  asRoot('creates fifos and device nodes', async () => {
    const layer = await packTar([
      { header: { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666, mtime: EPOCH } },
      { header: { name: 'run/pipe', type: 'fifo', mode: 0o600, mtime: EPOCH } },
    ]);
    const warnings: string[] = [];

    await unpackLayer(asStream(layer), target, { warn: (m) => warnings.push(m) });

    const fifo = await lstat(path.join(target, 'run/pipe'));
    expect(fifo.isFIFO()).toBe(true);
    expect(fifo.mode & 0o777).toBe(0o600);
    const device = await lstat(path.join(target, 'dev/null')).catch(() => undefined);
    // Without CAP_MKNOD a device is skipped with a warning rather than failing the layer.
    if (device) expect(device.isCharacterDevice() && device.rdev).toBe((1 << 8) | 3);
    else expect(warnings).toEqual([expect.stringContaining('dev/null')]);
  });
});
