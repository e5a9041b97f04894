import { isDigest } from '@berth/domain';
import { invalidArchive } from './image-errors';

export const MediaType = {
  OciLayout: 'application/vnd.oci.layout.header.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

const INDEX_TYPES = new Set<string>([MediaType.OciIndex, MediaType.DockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MediaType.OciManifest, MediaType.DockerManifest]);
/** Plain, gzip or zstd tar; which one is decided from the bytes when unpacking. */
const LAYER_TYPES = new Set<string>([
  MediaType.OciLayer,
  MediaType.OciLayerGzip,
  MediaType.OciLayerZstd,
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  MediaType.DockerLayer,
  MediaType.DockerLayerGzip,
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

export const isIndexMediaType = (t: string | undefined) => t !== undefined && INDEX_TYPES.has(t);
export const isManifestMediaType = (t: string | undefined) => t !== undefined && MANIFEST_TYPES.has(t);
export const isLayerMediaType = (t: string | undefined) => t !== undefined && LAYER_TYPES.has(t);

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a descriptor read from an archive; the digest later becomes a file name. */
export function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isRecord(value)) throw invalidArchive(`${where}: a descriptor must be an object`);
  const { mediaType, digest, size, annotations, platform } = value;
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw invalidArchive(`${where}: digest "${String(digest)}" is not a sha256 digest`);
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalidArchive(`${where}: size must be a non-negative integer`);
  }
  const descriptor: Descriptor = { mediaType: typeof mediaType === 'string' ? mediaType : '', digest, size };
  if (isRecord(annotations)) {
    descriptor.annotations = Object.fromEntries(Object.entries(annotations).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }
  if (isRecord(platform) && typeof platform.os === 'string' && typeof platform.architecture === 'string') {
    descriptor.platform = { os: platform.os, architecture: platform.architecture };
    if (typeof platform.variant === 'string') descriptor.platform.variant = platform.variant;
  }
  return descriptor;
}
