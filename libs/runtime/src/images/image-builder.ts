import { gzipSync } from 'zlib';
import type { ImageConfigSummary } from '@berth/domain';
import { familiarImageReference, normalizeImageReference, parseImageReference } from '@berth/domain';
import { sha256Digest } from './digests';
import { toDockerConfig } from './image-config';
import { MediaType } from './media-types';
import { packTar, TarEntry } from './tar-pack';

export { busyboxLayer, BUSYBOX_IMAGE_CONFIG } from './busybox-layer';

export interface LayerEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  content?: Buffer | string;
  mode?: number;
  linkname?: string;
  uid?: number;
  gid?: number;
}

export interface BuildImage {
  references: string[];
  layers: LayerEntry[][];
  config?: ImageConfigSummary;
  /** Compress layers (OCI format only; docker save layers are plain tars). Default true. */
  gzip?: boolean;
  architecture?: string;
  os?: string;
}

export interface BuildImageArchiveOptions {
  format: 'oci' | 'docker';
  images: BuildImage[];
}

const EPOCH = new Date(0);
const EPOCH_TEXT = EPOCH.toISOString().replace('.000', '');
const DEFAULT_MODES: Record<LayerEntry['type'], number> = { file: 0o644, directory: 0o755, symlink: 0o777, link: 0o644 };

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
  const files = options.format === 'oci' ? ociLayoutFiles(images, options.images) : dockerSaveFiles(images);
  return packTar(archiveEntries(files));
}

async function buildImage(image: BuildImage): Promise<BuiltImage> {
  const layers: BuiltLayer[] = [];
  for (const entries of image.layers) {
    const tar = await packTar(layerTarEntries(entries));
    layers.push({ tar, diffId: sha256Digest(tar) });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: image.architecture ?? 'amd64',
      config: toDockerConfig(image.config ?? {}),
      created: EPOCH_TEXT,
      history: layers.map(() => ({ created: EPOCH_TEXT, created_by: 'berth image-builder' })),
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
  const named = entries.map((entry) => ({ entry, name: entry.path.replace(/^\/+/, '').replace(/\/+$/, '') }));
  // Hard links last, so their targets exist when they are extracted.
  const rank = (e: LayerEntry) => (e.type === 'link' ? 1 : 0);
  named.sort((a, b) => rank(a.entry) - rank(b.entry) || compareText(a.name, b.name));
  return named.map(({ entry, name }) => ({
    header: {
      name: entry.type === 'directory' ? `${name}/` : name,
      type: entry.type,
      mode: entry.mode ?? DEFAULT_MODES[entry.type],
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      mtime: EPOCH,
      linkname: entry.linkname,
    },
    content: entry.type === 'file' ? Buffer.from(entry.content ?? '') : undefined,
  }));
}

function ociLayoutFiles(images: BuiltImage[], requests: BuildImage[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const addBlob = (data: Buffer) => {
    const digest = sha256Digest(data);
    files.set(`blobs/sha256/${digest.slice('sha256:'.length)}`, data);
    return { digest, size: data.length };
  };
  const index: Array<Record<string, unknown>> = [];
  const dockerManifest: Array<Record<string, unknown>> = [];
  images.forEach((image, i) => {
    const gzip = requests[i].gzip ?? true;
    const layers = image.layers.map((layer) => ({
      mediaType: gzip ? MediaType.OciLayerGzip : MediaType.OciLayer,
      ...addBlob(gzip ? gzipSync(layer.tar) : layer.tar),
    }));
    const config = { mediaType: MediaType.OciConfig, ...addBlob(image.config) };
    const manifest = { mediaType: MediaType.OciManifest, ...addBlob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers }))) };
    if (image.references.length === 0) index.push(manifest);
    for (const reference of image.references) {
      index.push({
        ...manifest,
        annotations: { 'io.containerd.image.name': reference, 'org.opencontainers.image.ref.name': reference },
      });
    }
    dockerManifest.push({
      Config: `blobs/sha256/${config.digest.slice('sha256:'.length)}`,
      RepoTags: repoTags(image.references),
      Layers: layers.map((l) => `blobs/sha256/${l.digest.slice('sha256:'.length)}`),
    });
  });
  files.set('oci-layout', json({ imageLayoutVersion: '1.0.0' }));
  files.set('index.json', json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: index }));
  files.set('manifest.json', json(dockerManifest));
  return files;
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

/** `docker save` names images the short way (`busybox:latest`) and only by tag. */
function repoTags(references: string[]): string[] {
  return references
    .map((r) => parseImageReference(r))
    .filter((r) => r.tag !== undefined && r.digest === undefined)
    .map((r) => familiarImageReference(r));
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
