import { execFile } from 'child_process';
import { lstat, mkdir, readFile, readlink, stat, writeFile } from 'fs/promises';
import * as path from 'path';
import { Readable } from 'stream';
import { promisify } from 'util';
import { gzipSync } from 'zlib';
import { isRoot, makeTempDir } from '../testing/archive-fixtures';
import { sha256Digest } from './digests';
import { layerPathComponents, unpackLayer } from './layer-unpack';
import { packTar, TarEntry } from './tar-pack';

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
const withXattrs = (entry: TarEntry, xattrs: Record<string, string | Buffer>): TarEntry => ({
  ...entry,
  pax: Object.fromEntries(Object.entries(xattrs).map(([name, value]) => [`SCHILY.xattr.${name}`, value])),
});

/** The v2 file capability blob of `setcap cap_net_raw+ep`, as /bin/ping carries it. */
const CAP_NET_RAW_EP = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
/** Not UTF-8, and holding the bytes PAX records are delimited by. */
const BINARY = Buffer.from([0x00, 0xff, 0x80, 0xc3, 0x28, 0x0a, 0x3d, 0x20]);

/** Every xattr of `file` (not following a symlink), read back with getfattr. */
async function readXattrs(file: string): Promise<Record<string, Buffer>> {
  const { stdout } = await run('getfattr', ['-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', file]);
  const xattrs: Record<string, Buffer> = {};
  for (const line of stdout.split('\n')) {
    const match = /^([^#=][^=]*)=(?:0s)?(.*)$/.exec(line);
    if (match) xattrs[match[1]] = Buffer.from(match[2], 'base64');
  }
  return xattrs;
}

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

  describe('extended attributes from PAX SCHILY.xattr records', () => {
    asRoot('sets them byte for byte on files, directories and symlinks, after chown', async () => {
      const odd = 'bin/odd name \\ "\n\u00e9';
      const layer = await packTar([
        withXattrs(dir('etc/', { uid: 1000, gid: 1000 }), { 'user.dir': 'yes', 'trusted.berth': 'kept' }),
        withXattrs(file('bin/ping', 'ping', { mode: 0o755, uid: 1000, gid: 1000, mtime: new Date(86_400_000) }), {
          'security.capability': CAP_NET_RAW_EP,
          'user.note': 'sends ICMP echo requests',
          'user.blob': BINARY,
          'user.empty': '',
          'trusted.overlay.opaque': 'y',
          'user.odd name': 'x',
          'system.posix_acl_access': 'x',
        }),
        // Linux keeps user.* only on files and directories: the symlink's is refused.
        withXattrs(symlink('bin/ping6', 'ping'), { 'trusted.link': 'on the link', 'user.link': 'refused' }),
        withXattrs(file(odd, 'odd'), { 'user.note': 'odd path' }),
      ]);
      const warnings: string[] = [];

      await unpackLayer(asStream(layer), target, { warn: (m) => warnings.push(m) });

      const ping = await readXattrs(path.join(target, 'bin/ping'));
      expect(ping).toMatchObject({
        'security.capability': CAP_NET_RAW_EP,
        'user.note': Buffer.from('sends ICMP echo requests'),
        'user.blob': BINARY,
        'user.empty': Buffer.alloc(0),
      });
      for (const absent of ['trusted.overlay.opaque', 'user.odd name', 'system.posix_acl_access', 'trusted.link']) {
        expect(ping).not.toHaveProperty([absent]);
      }
      const pingStat = await stat(path.join(target, 'bin/ping'));
      expect([pingStat.uid, pingStat.mode & 0o7777, pingStat.mtimeMs]).toEqual([1000, 0o755, 86_400_000]);
      await expect(readXattrs(path.join(target, 'etc'))).resolves.toMatchObject({ 'user.dir': Buffer.from('yes'), 'trusted.berth': Buffer.from('kept') });
      expect((await stat(path.join(target, 'etc'))).uid).toBe(1000);
      const link = await readXattrs(path.join(target, 'bin/ping6'));
      expect(link).toMatchObject({ 'trusted.link': Buffer.from('on the link') });
      expect(link).not.toHaveProperty(['user.link']);
      await expect(readXattrs(path.join(target, odd))).resolves.toMatchObject({ 'user.note': Buffer.from('odd path') });
      expect(warnings).toEqual([
        expect.stringMatching(
          /skipped 3 extended attribute.*"bin\/ping" "trusted.overlay.opaque", "bin\/ping" "user.odd name", "bin\/ping" "system.posix_acl_access"/,
        ),
        expect.stringMatching(/refused 1 extended attribute.*"bin\/ping6" \(Operation not permitted\)/),
      ]);
    });

    it('refuses a value over 64 KiB as an invalid layer', async () => {
      const layer = await packTar([withXattrs(file('big', 'big'), { 'user.big': Buffer.alloc(64 * 1024 + 1, 1) })]);

      await expect(unpackLayer(asStream(layer), target)).rejects.toMatchObject({ reason: 'InvalidLayer', message: expect.stringContaining('user.big') });
    });

    asRoot('leaves out with a warning what the filesystem has no room for, and goes on', async () => {
      // 64 KiB fits tmpfs, xfs or btrfs; ext4 without ea_inode keeps a value within one block and answers ENOSPC.
      const big = Buffer.alloc(64 * 1024, 7);
      const layer = await packTar([withXattrs(file('big', 'big'), { 'user.big': big, 'user.small': 'small' })]);
      const warnings: string[] = [];

      await unpackLayer(asStream(layer), target, { warn: (m) => warnings.push(m) });

      const xattrs = await readXattrs(path.join(target, 'big'));
      expect(xattrs['user.small']).toEqual(Buffer.from('small'));
      if (xattrs['user.big']) expect(xattrs['user.big']).toEqual(big);
      else expect(warnings).toEqual([expect.stringMatching(/refused 1 extended attribute.*"big"/)]);
    });

    asRoot('sets the attributes of an entry before a later entry replaces it', async () => {
      const layer = await packTar([
        withXattrs(file('a', 'first'), { 'user.x': 'first' }),
        hardlink('b', 'a'),
        file('a', 'second'),
        withXattrs(file('d/secret', 'layer'), { 'user.y': 'inside' }),
        symlink('d', outside),
      ]);

      await unpackLayer(asStream(layer), target);

      await expect(readXattrs(path.join(target, 'b'))).resolves.toMatchObject({ 'user.x': Buffer.from('first') });
      expect(await readXattrs(path.join(target, 'a'))).not.toHaveProperty(['user.x']);
      // Set before `d` became a symlink: never through it.
      expect(await readXattrs(path.join(outside, 'secret'))).not.toHaveProperty(['user.y']);
    });

    asRoot('sets them in batches', async () => {
      // Two attributes each: the first batch of 4096 ends after f2047.
      const entries = Array.from({ length: 2100 }, (_, i) => withXattrs(file(`f${i}`, ''), { 'user.a': `a${i}`, 'security.capability': CAP_NET_RAW_EP }));

      await unpackLayer(asStream(await packTar(entries)), target);

      for (const i of [0, 2047, 2048, 2099]) {
        await expect(readXattrs(path.join(target, `f${i}`))).resolves.toMatchObject({ 'user.a': Buffer.from(`a${i}`), 'security.capability': CAP_NET_RAW_EP });
      }
    });
  });
});
