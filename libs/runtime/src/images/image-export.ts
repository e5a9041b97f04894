import { createReadStream } from 'fs';
import { pipeline, Readable } from 'stream';
import * as tar from 'tar-stream';
import { familiarImageReference, parseImageReference } from '@berth/domain';
import { sha256Digest } from './digests';
import { blobPathInLayout } from './image-plan';
import { MediaType } from './media-types';
import { TarHeader } from './tar-pack';

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';
const EPOCH = new Date(0);

/** One stored image to export, with the blobs the store holds for it. */
export interface ExportedImage {
  /** Normalized references (`docker.io/library/busybox:latest`). */
  references: string[];
  manifest: ExportedBlob & { mediaType: string };
  config: ExportedBlob;
  layers: ExportedBlob[];
  /** The config's rootfs.diff_ids, bottom first. */
  diffIds: string[];
}

export interface ExportedBlob {
  digest: string;
  size: number;
  /** Where the store keeps it. */
  file: string;
}

/**
 * Streams images as one tar that OCI tools and `docker load` both read: an OCI
 * image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) plus the
 * `manifest.json` and `repositories` of `docker save`, whose paths point at the
 * same blobs (as Docker >= 25 writes it). Blobs are read from disk as the tar
 * is consumed; each is written once however many images share it.
 */
export function writeImageArchive(images: ExportedImage[]): Readable {
  const pack = tar.pack();
  (async () => {
    await addBuffer(pack, 'oci-layout', json({ imageLayoutVersion: '1.0.0' }));
    await addBuffer(pack, 'index.json', json(ociIndex(images)));
    await addBuffer(pack, 'manifest.json', json(images.map(dockerManifestEntry)));
    await addBuffer(pack, 'repositories', json(legacyRepositories(images)));
    await addDirectory(pack, 'blobs/');
    await addDirectory(pack, 'blobs/sha256/');
    const written = new Set<string>();
    for (const image of images) {
      for (const blob of [image.manifest, image.config, ...image.layers]) {
        if (written.has(blob.digest)) continue;
        written.add(blob.digest);
        await addFile(pack, blobPathInLayout(blob.digest), blob);
      }
    }
    pack.finalize();
  })().catch((err: Error) => pack.destroy(err));
  // A Node stream for callers; destroying it stops the pack and the file being read.
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

function ociIndex(images: ExportedImage[]) {
  const manifests = images.flatMap((image) => {
    const descriptor = { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size };
    if (image.references.length === 0) return [descriptor];
    return image.references.map((reference) => ({ ...descriptor, annotations: referenceAnnotations(reference) }));
  });
  return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
}

/** As containerd and Docker write them: the full name, and the tag alone as ref.name. */
function referenceAnnotations(reference: string): Record<string, string> {
  const { tag } = parseImageReference(reference, 'references');
  return tag ? { [CONTAINERD_NAME]: reference, [REF_NAME]: tag } : { [CONTAINERD_NAME]: reference };
}

function dockerManifestEntry(image: ExportedImage) {
  return {
    Config: blobPathInLayout(image.config.digest),
    RepoTags: repoTags(image.references),
    Layers: image.layers.map((layer) => blobPathInLayout(layer.digest)),
  };
}

/** The pre-manifest.json index: repository → tag → the top layer's chain ID. */
function legacyRepositories(images: ExportedImage[]): Record<string, Record<string, string>> {
  const repositories: Record<string, Record<string, string>> = {};
  for (const image of images) {
    const top = chainId(image.diffIds);
    if (!top) continue;
    for (const reference of image.references) {
      const ref = parseImageReference(reference, 'references');
      if (!ref.tag || ref.digest) continue;
      const name = familiarImageReference({ registry: ref.registry, repository: ref.repository });
      (repositories[name] ??= {})[ref.tag] = top.slice('sha256:'.length);
    }
  }
  return repositories;
}

/** `docker save` names images the short way (`busybox:latest`) and only by tag. */
export function repoTags(references: string[]): string[] {
  return references
    .map((r) => parseImageReference(r, 'references'))
    .filter((r) => r.tag !== undefined && r.digest === undefined)
    .map((r) => familiarImageReference(r));
}

/** The OCI chain ID of a layer stack: each layer's diff_id folded onto its parent's chain. */
export function chainId(diffIds: string[]): string | undefined {
  return diffIds.reduce<string | undefined>((parent, diffId) => (parent ? sha256Digest(`${parent} ${diffId}`) : diffId), undefined);
}

function addBuffer(pack: tar.Pack, name: string, content: Buffer): Promise<void> {
  return addEntry(pack, { name, type: 'file', mode: 0o644, mtime: EPOCH }, content);
}

function addDirectory(pack: tar.Pack, name: string): Promise<void> {
  return addEntry(pack, { name, type: 'directory', mode: 0o755, mtime: EPOCH });
}

function addEntry(pack: tar.Pack, header: TarHeader, content?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    if (content) pack.entry(header, content, done);
    else pack.entry(header, done);
  });
}

/** Streams one blob from disk into the tar; a blob whose size changed fails the entry. */
function addFile(pack: tar.Pack, name: string, blob: ExportedBlob): Promise<void> {
  return new Promise((resolve, reject) => {
    const sink = pack.entry({ name, type: 'file', mode: 0o644, mtime: EPOCH, size: blob.size }, (err) => (err ? reject(err) : resolve()));
    pipeline(createReadStream(blob.file), sink as unknown as NodeJS.WritableStream, (err) => {
      if (err) reject(err);
    });
  });
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}
