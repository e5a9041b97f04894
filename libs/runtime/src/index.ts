export * from './container-runtime';
export * from './oci-spec';
export * from './images/image-store';
export * from './images/registry';
export * from './runc/runc.runtime';
export * from './seccomp';
export * from './oci-resources';
export { ALL_CAPABILITIES, containerCapabilities, normalizeCapability } from './oci-security';
export * from './network';
