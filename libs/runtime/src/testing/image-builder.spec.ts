import { existsSync } from 'fs';
import { gunzipSync } from 'zlib';
import { sha256Digest } from '../images/digests';
import { blobName, parseJson, readTarFiles } from './archive-fixtures';
import { busyboxLayer } from './busybox-layer';
import { buildImageArchive, BuildImage } from './image-builder';

const image: BuildImage = {
  references: ['busybox', 'registry.example.com/team/app:2'],
  layers: [
    [
      { path: '/b/file', type: 'file', content: 'b' },
      { path: '/a', type: 'directory' },
      { path: '/a/link', type: 'link', linkname: 'b/file' },
      { path: '/a/sym', type: 'symlink', linkname: '/b/file' },
      { path: '/b', type: 'directory', mode: 0o700 },
    ],
  ],
  config: { cmd: ['sh'], exposedPorts: ['80/tcp'] },
};

describe('buildImageArchive', () => {
  it.each(['oci', 'docker'] as const)('is deterministic (%s)', async (format) => {
    const first = await buildImageArchive({ format, images: [image] });
    const second = await buildImageArchive({ format, images: [{ ...image, layers: [[...image.layers[0]].reverse()] }] });

    expect(sha256Digest(second)).toBe(sha256Digest(first));
  });

  it('writes an OCI layout with full references, a docker manifest.json and sorted layer entries', async () => {
    const files = await readTarFiles(await buildImageArchive({ format: 'oci', images: [image] }));

    expect(parseJson(files.get('oci-layout'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = parseJson(files.get('index.json'));
    expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations)).toEqual([
      { 'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'docker.io/library/busybox:latest' },
      { 'io.containerd.image.name': 'registry.example.com/team/app:2', 'org.opencontainers.image.ref.name': 'registry.example.com/team/app:2' },
    ]);
    const manifest = parseJson(files.get(blobName(index.manifests[0].digest)));
    expect(parseJson(files.get('manifest.json'))).toEqual([
      {
        Config: blobName(manifest.config.digest),
        RepoTags: ['busybox:latest', 'registry.example.com/team/app:2'],
        Layers: [blobName(manifest.layers[0].digest)],
      },
    ]);
    const config = parseJson(files.get(blobName(manifest.config.digest)));
    expect(config.config).toEqual({ ExposedPorts: { '80/tcp': {} }, Cmd: ['sh'] });
    const layerTar = gunzipSync(files.get(blobName(manifest.layers[0].digest))!);
    expect(config.rootfs.diff_ids).toEqual([sha256Digest(layerTar)]);
    expect([...(await readTarEntryNames(layerTar))]).toEqual(['a/', 'a/sym', 'b/', 'b/file', 'a/link']);
  });

  it('writes whiteouts and opaque markers as the image spec names them', async () => {
    const files = await readTarFiles(
      await buildImageArchive({
        format: 'oci',
        images: [
          {
            references: [],
            compression: 'none',
            layers: [
              [
                { path: '/etc/old.conf', type: 'whiteout' },
                { path: '/var/cache', type: 'opaque' },
                { path: '/gone', type: 'whiteout' },
              ],
            ],
          },
        ],
      }),
    );
    const manifest = parseJson(files.get(blobName(parseJson(files.get('index.json')).manifests[0].digest)));
    const layerTar = files.get(blobName(manifest.layers[0].digest))!;

    expect(manifest.layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(await readTarEntryNames(layerTar)).toEqual(['.wh.gone', 'etc/.wh.old.conf', 'var/cache/.wh..wh..opq']);
    expect([...(await readTarFiles(layerTar)).values()].every((content) => content.length === 0)).toBe(true);
  });

  it('writes a multi-platform image as an image index with one manifest per platform', async () => {
    const files = await readTarFiles(
      await buildImageArchive({
        format: 'oci',
        images: [],
        indexes: [
          {
            references: ['multi:1'],
            images: [
              { references: [], layers: [[{ path: '/a', type: 'file', content: 'amd64' }]] },
              {
                references: [],
                architecture: 'arm',
                variant: 'v7',
                layers: [[{ path: '/a', type: 'file', content: 'arm' }]],
                history: [{ createdBy: 'COPY a /', comment: 'arm' }],
              },
            ],
          },
        ],
      }),
    );

    expect(files.has('manifest.json')).toBe(false);
    const [entry, ...rest] = parseJson(files.get('index.json')).manifests;
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      mediaType: 'application/vnd.oci.image.index.v1+json',
      annotations: { 'org.opencontainers.image.ref.name': 'docker.io/library/multi:1' },
    });
    const platformIndex = parseJson(files.get(blobName(entry.digest)));
    expect(platformIndex.manifests.map((m: { platform: unknown }) => m.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm', os: 'linux', variant: 'v7' },
    ]);
    const armConfig = parseJson(files.get(blobName(parseJson(files.get(blobName(platformIndex.manifests[1].digest))).config.digest)));
    expect(armConfig).toMatchObject({ architecture: 'arm', variant: 'v7', history: [{ created_by: 'COPY a /', comment: 'arm' }] });
  });

  it('writes a classic docker save layout', async () => {
    const files = await readTarFiles(await buildImageArchive({ format: 'docker', images: [image] }));

    const [entry] = parseJson(files.get('manifest.json'));
    expect(entry.RepoTags).toEqual(['busybox:latest', 'registry.example.com/team/app:2']);
    expect(sha256Digest(files.get(entry.Config)!)).toBe(`sha256:${entry.Config.replace('.json', '')}`);
    const layerId = entry.Layers[0].split('/')[0];
    expect(parseJson(files.get('repositories'))).toEqual({ busybox: { latest: layerId }, 'registry.example.com/team/app': { '2': layerId } });
    expect(files.get(`${layerId}/VERSION`)!.toString()).toBe('1.0');
  });
});

(existsSync('/bin/busybox') ? describe : describe.skip)('busyboxLayer', () => {
  it('holds busybox, one symlink per applet and the account files', async () => {
    const entries = await busyboxLayer();
    const byPath = new Map(entries.map((e) => [e.path, e]));

    expect(byPath.get('/bin/busybox')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(byPath.get('/bin/sh')).toEqual({ path: '/bin/sh', type: 'symlink', linkname: 'busybox' });
    expect(byPath.get('/tmp')).toMatchObject({ type: 'directory', mode: 0o1777 });
    expect(byPath.get('/root')).toMatchObject({ mode: 0o700 });
    expect(byPath.get('/home/berth')).toMatchObject({ uid: 1000, gid: 1000 });
    expect(String(byPath.get('/etc/passwd')?.content)).toContain('berth:x:1000:1000::/home/berth:/bin/sh');
    expect(String(byPath.get('/etc/group')?.content)).toContain('nogroup:x:65534:');
    for (const dir of ['/proc', '/sys', '/dev', '/etc', '/var']) expect(byPath.get(dir)?.type).toBe('directory');
  });
});

async function readTarEntryNames(tarball: Buffer): Promise<string[]> {
  const tar = await import('tar-stream');
  const { Readable } = await import('stream');
  const names: string[] = [];
  const extract = tar.extract();
  Readable.from([tarball]).pipe(extract);
  for await (const entry of extract) {
    names.push(entry.header.name);
    entry.resume();
  }
  return names;
}
