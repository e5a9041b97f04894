import { InvalidArgumentError } from './errors';

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface ImageReference {
  /** Registry host, with port when given (`docker.io`, `localhost:5000`). */
  registry: string;
  /** Repository path inside the registry (`library/busybox`). */
  repository: string;
  tag?: string;
  digest?: string;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;

/**
 * Parses a reference the way Docker does: the first component is a registry only
 * when it has a dot or a colon or is `localhost`; Docker Hub's official images live
 * under `library/`; the tag defaults to `latest` unless a digest is given.
 */
export function parseImageReference(input: string, field = 'image'): ImageReference {
  const fail = (why: string) => new InvalidArgumentError(`invalid image reference "${input}": ${why}`, [{ field, message: why }], 'InvalidReference');
  if (typeof input !== 'string' || input.length === 0) throw fail('it is empty');
  if (input.length > 512) throw fail('it is longer than 512 characters');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw fail('the digest must be sha256: followed by 64 lower-case hex digits');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw fail(`the tag "${tag}" is not valid`);
  }
  const parts = rest.split('/');
  let registry = DEFAULT_REGISTRY;
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost' || parts[0].startsWith('['))) {
    registry = parts.shift()!;
    if (!HOST.test(registry)) throw fail(`the registry host "${registry}" is not valid`);
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DEFAULT_REGISTRY;
  if (parts.length === 0 || parts.some((p) => !PATH_COMPONENT.test(p))) {
    throw fail('repository names use lower-case letters, digits and separators (. _ __ -) between them');
  }
  if (registry === DEFAULT_REGISTRY && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository.length > 255) throw fail('the repository name is longer than 255 characters');
  if (!tag && !digest) tag = DEFAULT_TAG;
  return { registry, repository, tag, digest };
}

/** The canonical form: `docker.io/library/busybox:latest`, `host:5000/a/b@sha256:…`. */
export function formatImageReference(ref: ImageReference): string {
  let s = `${ref.registry}/${ref.repository}`;
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

export function normalizeImageReference(input: string, field = 'image'): string {
  return formatImageReference(parseImageReference(input, field));
}

/** The short form Docker shows: `busybox:latest`, `localhost:5000/app:1`. */
export function familiarImageReference(ref: ImageReference): string {
  let name = ref.repository;
  if (ref.registry === DEFAULT_REGISTRY) {
    if (name.startsWith('library/')) name = name.slice('library/'.length);
  } else {
    name = `${ref.registry}/${name}`;
  }
  if (ref.tag) name += `:${ref.tag}`;
  if (ref.digest) name += `@${ref.digest}`;
  return name;
}

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/**
 * A registry server as credentials name it, the way `docker login` accepts it:
 * `host[:port]`, with a scheme or a path tolerated and dropped; Docker Hub's many
 * names (`index.docker.io`, `registry-1.docker.io`, `https://index.docker.io/v1/`) become `docker.io`.
 */
export function normalizeRegistryServer(input: string, field = 'server'): string {
  const fail = (why: string) => new InvalidArgumentError(`invalid registry server "${input}": ${why}`, [{ field, message: why }], 'InvalidRegistry');
  if (typeof input !== 'string' || !input.trim()) throw fail('it is empty');
  let host = input.trim().replace(/^https?:\/\//i, '');
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  host = host.toLowerCase();
  if (!host || host.length > 255 || !HOST.test(host)) throw fail('it must be a host name or address, with an optional port');
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'docker.io') return DEFAULT_REGISTRY;
  return host;
}
