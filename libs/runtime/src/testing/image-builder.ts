import { gzipSync } from 'zlib';
import type { ImageConfigSummary } from '@berth/domain';
import { normalizeImageReference } from '@berth/domain';
import { sha256Digest } from '../images/digests';
import { toDockerConfig } from '../images/image-config';
import { repoTags } from '../images/image-export';
import { MediaType } from '../images/media-types';
import { packTar, TarEntry } from '../images/tar-pack';

/**
 * One entry of a layer. `whiteout` deletes `path` from the layers below (a
 * `.wh.<name>` file beside it); `opaque` hides everything the layers below
 * have under the directory `path` (a `.wh..wh..opq` file in it).
 */
export interface LayerEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'whiteout' | 'opaque';
  content?: Buffer | string;
  mode?: number;
  linkname?: string;
  uid?: number;
  gid?: number;
}

/** One build step in the config's history, oldest first; each step that is not empty made the next layer. */
export interface BuildHistoryStep {
  createdBy?: string;
  comment?: string;
  emptyLayer?: boolean;
}

export interface BuildImage {
  references: string[];
  layers: LayerEntry[][];
  config?: ImageConfigSummary;
  /**
   * How layers are compressed (OCI format only; docker save layers are plain
   * tars). Default gzip. zstd layers are written as stored (raw) zstd blocks:
   * valid zstd that any decoder reads, just not smaller.
   */
  compression?: 'gzip' | 'zstd' | 'none';
  architecture?: string;
  os?: string;
  variant?: string;
  /** Default: one step per layer. */
  history?: BuildHistoryStep[];
}

/** A multi-platform image: an OCI image index over one image per platform. */
export interface BuildImageIndex {
  references: string[];
  /** Their own references are ignored: the index carries the names. */
  images: BuildImage[];
}

export interface BuildImageArchiveOptions {
  format: 'oci' | 'docker';
  images: BuildImage[];
  /** OCI format only. */
  indexes?: BuildImageIndex[];
}

const EPOCH = new Date(0);
const EPOCH_TEXT = EPOCH.toISOString().replace('.000', '');
const DEFAULT_MODES: Record<LayerEntry['type'], number> = { file: 0o644, directory: 0o755, symlink: 0o777, link: 0o644, whiteout: 0o644, opaque: 0o644 };
const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
/** The most a zstd block may carry. */
const ZSTD_BLOCK_BYTES = 128 * 1024;

interface BuiltLayer {
  tar: Buffer;
  diffId: string;
}

interface BuiltImage {
  references: string[];
  layers: BuiltLayer[];
  config: Buffer;
  configDigest: string;
}

/**
 * Builds an image archive in memory, deterministically (mtimes 0, sorted entries),
 * so the same input always yields the same digests. For tests and demos.
 */
export async function buildImageArchive(options: BuildImageArchiveOptions): Promise<Buffer> {
  const images = await Promise.all(options.images.map(buildImage));
  const indexes = options.indexes ?? [];
  if (options.format === 'docker') {
    if (indexes.length > 0) throw new Error('image indexes need the OCI format');
    return packTar(archiveEntries(dockerSaveFiles(images)));
  }
  const builtIndexes = await Promise.all(
    indexes.map(async (index) => ({ references: index.references, images: index.images, built: await Promise.all(index.images.map(buildImage)) })),
  );
  return packTar(archiveEntries(ociLayoutFiles(images, options.images, builtIndexes)));
}

async function buildImage(image: BuildImage): Promise<BuiltImage> {
  const layers: BuiltLayer[] = [];
  for (const entries of image.layers) {
    const tar = await packTar(layerTarEntries(entries));
    layers.push({ tar, diffId: sha256Digest(tar) });
  }
  const steps = image.history ?? layers.map((): BuildHistoryStep => ({ createdBy: 'berth image-builder' }));
  const config = Buffer.from(
    JSON.stringify({
      architecture: image.architecture ?? 'amd64',
      ...(image.variant ? { variant: image.variant } : {}),
      config: toDockerConfig(image.config ?? {}),
      created: EPOCH_TEXT,
      history: steps.map((step) => ({
        created: EPOCH_TEXT,
        ...(step.createdBy !== undefined ? { created_by: step.createdBy } : {}),
        ...(step.comment !== undefined ? { comment: step.comment } : {}),
        ...(step.emptyLayer ? { empty_layer: true } : {}),
      })),
      os: image.os ?? 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    }),
  );
  return {
    references: image.references.map((r) => normalizeImageReference(r)),
    layers,
    config,
    configDigest: sha256Digest(config),
  };
}

function layerTarEntries(entries: LayerEntry[]): TarEntry[] {
  const named = entries.map((entry) => ({ entry, name: tarName(entry) }));
  // Hard links last, so their targets exist when they are extracted.
  const rank = (e: LayerEntry) => (e.type === 'link' ? 1 : 0);
  named.sort((a, b) => rank(a.entry) - rank(b.entry) || compareText(a.name, b.name));
  return named.map(({ entry, name }) => {
    const marker = entry.type === 'whiteout' || entry.type === 'opaque';
    const type = entry.type === 'whiteout' || entry.type === 'opaque' ? 'file' : entry.type;
    return {
      header: {
        name: type === 'directory' ? `${name}/` : name,
        type,
        mode: entry.mode ?? DEFAULT_MODES[entry.type],
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        mtime: EPOCH,
        linkname: entry.linkname,
      },
      content: type === 'file' ? Buffer.from(marker ? '' : (entry.content ?? '')) : undefined,
    };
  });
}

/** The entry's name in the layer tar; whiteouts and opaque markers as the image spec spells them. */
function tarName(entry: LayerEntry): string {
  const name = entry.path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (entry.type === 'opaque') return name ? `${name}/${OPAQUE_MARKER}` : OPAQUE_MARKER;
  if (entry.type !== 'whiteout') return name;
  const slash = name.lastIndexOf('/');
  return `${name.slice(0, slash + 1)}${WHITEOUT_PREFIX}${name.slice(slash + 1)}`;
}

interface BuiltIndex {
  references: string[];
  images: BuildImage[];
  built: BuiltImage[];
}

type Descriptor = { mediaType: string; digest: string; size: number };

function ociLayoutFiles(images: BuiltImage[], requests: BuildImage[], indexes: BuiltIndex[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const addBlob = (mediaType: string, data: Buffer): Descriptor => {
    const digest = sha256Digest(data);
    files.set(`blobs/sha256/${digest.slice('sha256:'.length)}`, data);
    return { mediaType, digest, size: data.length };
  };
  const addImage = (image: BuiltImage, request: BuildImage) => {
    const compression = request.compression ?? 'gzip';
    const layers = image.layers.map((layer) => addBlob(LAYER_MEDIA_TYPES[compression], compress(layer.tar, compression)));
    const config = addBlob(MediaType.OciConfig, image.config);
    const manifest = addBlob(MediaType.OciManifest, json({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers }));
    return { manifest, config, layers };
  };
  const index: Array<Record<string, unknown>> = [];
  const named = (descriptor: Descriptor, references: string[]) =>
    references.length === 0
      ? [descriptor]
      : references.map((reference) => ({
          ...descriptor,
          annotations: { 'io.containerd.image.name': reference, 'org.opencontainers.image.ref.name': reference },
        }));
  const dockerManifest: Array<Record<string, unknown>> = [];
  images.forEach((image, i) => {
    const { manifest, config, layers } = addImage(image, requests[i]);
    index.push(...named(manifest, image.references));
    dockerManifest.push({
      Config: `blobs/sha256/${config.digest.slice('sha256:'.length)}`,
      RepoTags: repoTags(image.references),
      Layers: layers.map((l) => `blobs/sha256/${l.digest.slice('sha256:'.length)}`),
    });
  });
  for (const { references, images: requests, built } of indexes) {
    const manifests = built.map((image, i) => ({ ...addImage(image, requests[i]).manifest, platform: platformOf(requests[i]) }));
    const platformIndex = addBlob(MediaType.OciIndex, json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
    index.push(
      ...named(
        platformIndex,
        references.map((r) => normalizeImageReference(r)),
      ),
    );
  }
  files.set('oci-layout', json({ imageLayoutVersion: '1.0.0' }));
  files.set('index.json', json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: index }));
  // docker load reads single-platform images from manifest.json; an index alone has none.
  if (dockerManifest.length > 0) files.set('manifest.json', json(dockerManifest));
  return files;
}

function platformOf(image: BuildImage): Record<string, string> {
  const platform: Record<string, string> = { architecture: image.architecture ?? 'amd64', os: image.os ?? 'linux' };
  if (image.variant) platform.variant = image.variant;
  return platform;
}

const LAYER_MEDIA_TYPES = { gzip: MediaType.OciLayerGzip, zstd: MediaType.OciLayerZstd, none: MediaType.OciLayer } as const;

function compress(tar: Buffer, compression: keyof typeof LAYER_MEDIA_TYPES): Buffer {
  if (compression === 'gzip') return gzipSync(tar);
  if (compression === 'zstd') return storedZstdFrame(tar);
  return tar;
}

/**
 * A zstd frame of raw (uncompressed) blocks: the frame header (no content
 * size, a 128 KiB window, no checksum), then blocks of at most 128 KiB, each
 * with a 3-byte header (last-block bit, block type 0 = raw, size).
 */
export function storedZstdFrame(data: Buffer): Buffer {
  const WINDOW_128K = 7 << 3; // window log 10 + 7
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, WINDOW_128K])];
  let offset = 0;
  do {
    const size = Math.min(ZSTD_BLOCK_BYTES, data.length - offset);
    const last = offset + size >= data.length ? 1 : 0;
    const header = (size << 3) | last;
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), data.subarray(offset, offset + size));
    offset += size;
  } while (offset < data.length);
  return Buffer.concat(parts);
}

function dockerSaveFiles(images: BuiltImage[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const manifest: Array<Record<string, unknown>> = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const image of images) {
    // Layer directories are named by chain ID, as the same diff under a different parent is a different layer.
    let parent: string | undefined;
    const layerIds = image.layers.map((layer) => {
      const id = sha256Digest(parent ? `sha256:${parent} ${layer.diffId}` : layer.diffId).slice('sha256:'.length);
      files.set(`${id}/layer.tar`, layer.tar);
      files.set(`${id}/VERSION`, Buffer.from('1.0'));
      files.set(`${id}/json`, json({ id, ...(parent ? { parent } : {}), created: EPOCH_TEXT }));
      parent = id;
      return id;
    });
    const configName = `${image.configDigest.slice('sha256:'.length)}.json`;
    files.set(configName, image.config);
    manifest.push({ Config: configName, RepoTags: repoTags(image.references), Layers: layerIds.map((id) => `${id}/layer.tar`) });
    for (const tag of repoTags(image.references)) {
      const colon = tag.lastIndexOf(':');
      (repositories[tag.slice(0, colon)] ??= {})[tag.slice(colon + 1)] = layerIds[layerIds.length - 1] ?? '';
    }
  }
  files.set('manifest.json', json(manifest));
  files.set('repositories', json(repositories));
  return files;
}

function archiveEntries(files: Map<string, Buffer>): TarEntry[] {
  const dirs = new Set<string>();
  for (const name of files.keys()) {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const entries: Array<{ name: string; entry: TarEntry }> = [
    ...[...dirs].map((dir) => ({ name: dir, entry: { header: { name: `${dir}/`, type: 'directory' as const, mode: 0o755, mtime: EPOCH } } })),
    ...[...files].map(([name, content]) => ({ name, entry: { header: { name, type: 'file' as const, mode: 0o644, mtime: EPOCH }, content } })),
  ];
  return entries.sort((a, b) => compareText(a.name, b.name)).map((e) => e.entry);
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
