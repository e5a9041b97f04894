// How @berth/sdk's generated half is made from the checked-in contract: `npm run sdk` (root),
// which also formats it with the repository's Prettier settings (scripts/sdk.mjs).
// Calls throw (a BerthProblem, see src/problem.ts) instead of answering `{ error }`.
export default {
  input: '../../openapi/openapi.json',
  output: { path: 'src/generated', postProcess: [] },
  plugins: [{ name: '@hey-api/client-fetch', throwOnError: true }, '@hey-api/typescript', { name: '@hey-api/sdk', operations: { strategy: 'flat' } }],
};
