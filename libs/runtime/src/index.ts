export * from './container-runtime';
export * from './oci-spec';
export * from './images/image-store';
export * from './images/image-builder';
export * from './runc/runc.runtime';
export * from './fake/fake.runtime';
