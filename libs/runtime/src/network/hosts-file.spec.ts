import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHostsFile, writeHostsFileInPlace } from './hosts-file';

const LOCALHOST = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

describe('renderHostsFile', () => {
  it('writes localhost first, then the container, then its peers sorted by name', () => {
    const content = renderHostsFile({
      self: [{ name: 'web', aliases: ['web.front', 'abc123'], ip: '10.213.1.2' }],
      peers: [
        { name: 'db', aliases: ['database'], ip: '10.213.2.3' },
        { name: 'cache', ip: '10.213.1.4' },
      ],
    });
    expect(content).toBe([...LOCALHOST, '10.213.1.2\tweb web.front abc123', '10.213.1.4\tcache', '10.213.2.3\tdb database', ''].join('\n'));
  });

  it('keeps only the first address of a name, and drops lines left without names', () => {
    const content = renderHostsFile({
      self: [
        { name: 'web', ip: '10.213.1.2' },
        { name: 'web', ip: '10.213.2.2' },
      ],
      peers: [
        { name: 'db', ip: '10.213.2.3' },
        { name: 'DB', aliases: ['db2'], ip: '10.213.1.3' },
        { name: 'localhost', ip: '10.213.1.9' },
      ],
    });
    expect(content.split('\n').slice(LOCALHOST.length)).toEqual(['10.213.1.2\tweb', '10.213.2.3\tdb', '10.213.1.3\tdb2', '']);
  });

  it('leaves out names that are not host names and addresses that are not IPv4', () => {
    const content = renderHostsFile({
      self: [],
      peers: [
        { name: 'evil\n1.2.3.4 bank', ip: '10.213.1.5' },
        { name: 'spaced name', aliases: ['ok-alias'], ip: '10.213.1.6' },
        { name: 'v6', ip: 'fd00::1' },
        { name: '-leading', ip: '10.213.1.7' },
      ],
    });
    expect(content.split('\n').slice(LOCALHOST.length)).toEqual(['10.213.1.6\tok-alias', '']);
  });

  it('is the same whatever order the peers come in', () => {
    const peers = [
      { name: 'b', ip: '10.213.1.3' },
      { name: 'a', ip: '10.213.1.10' },
      { name: 'a', ip: '10.213.1.9' },
    ];
    const one = renderHostsFile({ self: [], peers });
    expect(renderHostsFile({ self: [], peers: [...peers].reverse() })).toBe(one);
    expect(one).toContain('10.213.1.9\ta\n');
  });
});

describe('writeHostsFileInPlace', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-hosts-spec-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('rewrites the same inode (a bind mount keeps seeing it), shorter content included', async () => {
    const path = join(dir, 'hosts');
    await writeFile(path, 'x'.repeat(500));
    const before = await stat(path);
    await writeHostsFileInPlace(path, 'short\n');
    expect(await readFile(path, 'utf8')).toBe('short\n');
    expect((await stat(path)).ino).toBe(before.ino);
  });

  it('never creates a missing file (a container being removed must not get it back)', async () => {
    await expect(writeHostsFileInPlace(join(dir, 'gone'), 'a\n')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(dir, 'gone'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
