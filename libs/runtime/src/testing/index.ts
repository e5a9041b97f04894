/**
 * `@berth/runtime/testing`: what tests, the bench and the e2e setup use to drive
 * the runtime, never imported by production code. The in-memory runtime, the
 * contract every adapter passes, image archives built from entries, a local
 * registry, throwaway runc roots and busybox root filesystems, and helpers to
 * look into archives, overlay layers and network namespaces.
 */
export * from './fake.runtime';
export * from './runtime-contract';
export * from './image-builder';
export * from './busybox-layer';
export * from './local-registry';
export * from './busybox-rootfs';
export * from './runc-test-root';
export * from './archive-fixtures';
export * from './overlay-view';
export * from './netns-shell';
