import { NotFoundError } from '@berth/domain';
import { ImageErrorReason } from './image-errors';
import { Descriptor, Platform } from './media-types';

/** Node's process.arch spelled the way OCI platforms (Go's GOARCH) spell it. */
export function goArchitecture(arch: string = process.arch): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return names[arch] ?? arch;
}

export function defaultPlatform(): Platform {
  return { os: 'linux', architecture: goArchitecture() };
}

export function formatPlatform(p: Platform | undefined): string {
  if (!p) return 'unspecified';
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Reads `os/arch[/variant]` (as `docker pull --platform` takes it); undefined when malformed. */
export function parsePlatform(text: string): Platform | undefined {
  const parts = text.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/i.test(p))) return undefined;
  const [os, architecture, variant] = parts;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/**
 * The entry of an image index or manifest list for `wanted`, if any. os and
 * architecture must match; when a variant is wanted, an entry with that variant
 * wins over one that names none, and one with another variant never matches.
 * Attestation manifests (BuildKit's unknown/unknown) are ignored.
 */
export function matchPlatform(entries: Descriptor[], wanted: Platform): Descriptor | undefined {
  const matching = imageEntries(entries).filter((d) => d.platform?.os === wanted.os && d.platform?.architecture === wanted.architecture);
  if (wanted.variant) {
    return matching.find((d) => d.platform?.variant === wanted.variant) ?? matching.find((d) => !d.platform?.variant);
  }
  return matching.find((d) => !d.platform?.variant) ?? matching[0];
}

/** The image entries of an index, leaving out attestations. */
export function imageEntries(entries: Descriptor[]): Descriptor[] {
  return entries.filter((d) => d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' && d.platform?.os !== 'unknown');
}

export function noMatchingPlatformMessage(entries: Descriptor[], wanted: Platform, where: string): string {
  const offered = imageEntries(entries)
    .map((d) => formatPlatform(d.platform))
    .join(', ');
  return `${where} has no manifest for ${formatPlatform(wanted)} (it has: ${offered || 'none'})`;
}

/** {@link matchPlatform}, or NotFoundError `NoMatchingPlatform`; `where` names the index. */
export function selectPlatform(entries: Descriptor[], wanted: Platform, where: string): Descriptor {
  const chosen = matchPlatform(entries, wanted);
  if (!chosen) throw new NotFoundError(noMatchingPlatformMessage(entries, wanted, where), ImageErrorReason.NoMatchingPlatform);
  return chosen;
}
