export { RegistryClient } from './registry-client';
export type { RegistryClientOptions, RegistryCredentials } from './registry-options';
export { RegistryErrorReason } from './registry-errors';
export { repositoryName, type RepositoryRef } from './repository-ref';
export { MANIFEST_ACCEPT, manifestBlobs, type FetchedManifest, type ResolvedManifest } from './registry-manifests';
export * from './www-authenticate';
export { selectPlatform, matchPlatform, parsePlatform, defaultPlatform, goArchitecture, formatPlatform } from '../platform';
export type { PullOptions, PullProgress } from './pull';
export type { PushResult } from './push';
