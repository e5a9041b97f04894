/** Three projects: unit specs beside the code (fake runtime, no root needed),
 * integration specs of the runtime against real runc, and end-to-end tests in
 * test/ that run the real API, Redis, worker and runc. */
const moduleNameMapper = {
  '^@berth/domain(|/.*)$': '<rootDir>/libs/domain/src$1',
  '^@berth/runtime(|/.*)$': '<rootDir>/libs/runtime/src$1',
  '^@berth/sdk$': '<rootDir>/libs/sdk/src',
};
/** Packages that are ES modules only: NestJS 12, and the $ref parser under swagger-parser (the OpenAPI document's check). */
const ESM_ONLY = '@nestjs|@apidevtools/json-schema-ref-parser';
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
  // Their files become CommonJS for Jest (see the transformer).
  [`^.+/node_modules/(${ESM_ONLY})/.+\\.js$`]: '<rootDir>/test/support/esm-transform.cjs',
};
/** Jest leaves node_modules alone, except the ES-module packages above. */
const transformIgnorePatterns = [`/node_modules/(?!(${ESM_ONLY})/)`];

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/scripts'],
      testMatch: ['**/*.spec.ts'],
      moduleNameMapper,
      transform,
      transformIgnorePatterns,
    },
    {
      // Real runc, conmon and overlayfs, no API: needs root (npm test provides it).
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/migrations'],
      testMatch: ['**/*.int-spec.ts'],
      moduleNameMapper,
      transform,
      transformIgnorePatterns,
      setupFilesAfterEnv: ['<rootDir>/test/support/jest-timeout.ts'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      moduleNameMapper,
      transform,
      transformIgnorePatterns,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/jest-timeout.ts'],
    },
  ],
};
