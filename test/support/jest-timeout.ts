// Jest takes `testTimeout` from the root config only; these projects run real
// containers and registries, so their tests get longer.
jest.setTimeout(120_000);
