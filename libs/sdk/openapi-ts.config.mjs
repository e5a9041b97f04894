// How @berth/sdk's generated half is made from the checked-in contract: `npm run sdk` (root).
// Calls throw (a BerthProblem, see src/problem.ts) instead of answering `{ error }`.
export default {
  input: '../../openapi/openapi.json',
  output: { path: 'src/generated', postProcess: ['prettier'] },
  plugins: [{ name: '@hey-api/client-fetch', throwOnError: true }, '@hey-api/typescript', { name: '@hey-api/sdk', operations: { strategy: 'flat' } }],
};
