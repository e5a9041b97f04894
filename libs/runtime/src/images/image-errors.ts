import { FailedPreconditionError, InvalidArgumentError } from '@berth/domain';

/** The reasons callers (and the API's problem documents) can rely on. */
export const ImageErrorReason = {
  DigestMismatch: 'DigestMismatch',
  InvalidImageArchive: 'InvalidImageArchive',
  MissingBlob: 'MissingBlob',
  UnsupportedMediaType: 'UnsupportedMediaType',
  NoMatchingPlatform: 'NoMatchingPlatform',
  UnsafeLayerPath: 'UnsafeLayerPath',
  InvalidLayer: 'InvalidLayer',
  MissingTool: 'MissingTool',
} as const;

export function digestMismatch(what: string, expected: { digest: string; size?: number }, actual: { digest: string; size?: number }) {
  const sizes =
    expected.size !== undefined && actual.size !== undefined && expected.size !== actual.size ? ` (expected ${expected.size} bytes, got ${actual.size})` : '';
  return new InvalidArgumentError(`${what}: expected digest ${expected.digest}, got ${actual.digest}${sizes}`, [], ImageErrorReason.DigestMismatch);
}

export function invalidArchive(message: string) {
  return new InvalidArgumentError(message, [], ImageErrorReason.InvalidImageArchive);
}

export function unsafeLayerPath(message: string) {
  return new InvalidArgumentError(message, [], ImageErrorReason.UnsafeLayerPath);
}

export function invalidLayer(message: string) {
  return new InvalidArgumentError(message, [], ImageErrorReason.InvalidLayer);
}

export function missingTool(tool: string, packageHint: string) {
  return new FailedPreconditionError(
    `\`${tool}\` is needed to unpack image layers but is not installed (install the ${packageHint} package)`,
    ImageErrorReason.MissingTool,
  );
}

export function missingBlobInStore(digest: string) {
  return new InvalidArgumentError(
    `the archive does not contain blob ${digest} and this host's store does not have it either`,
    [],
    ImageErrorReason.MissingBlob,
  );
}

/** An image the store has a record of lacks one of its blobs: the store was damaged. */
export function storeLacksBlob(digest: string, image: string) {
  return new FailedPreconditionError(`this host's image store lacks blob ${digest} of image ${image}`, ImageErrorReason.MissingBlob);
}
