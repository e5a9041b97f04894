export * from './registry-client';
export * from './www-authenticate';
export { selectPlatform, matchPlatform, parsePlatform, defaultPlatform, goArchitecture, formatPlatform } from '../platform';
export type { PullOptions, PullProgress } from './pull';
export type { PushResult } from './push';
