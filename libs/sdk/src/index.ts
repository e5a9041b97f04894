/**
 * @berth/sdk: the generated functions and types of the Berth API (one function
 * per operation, named by its operationId), and the hand-written helpers a
 * generator cannot know: a configured client, typed problems, waiting for
 * operations, pages, and following logs and events.
 */
export * from './generated/sdk.gen';
export type * from './generated/types.gen';
export { createBerthClient } from './client';
export type { BerthClient, BerthClientOptions } from './client';
export { BerthProblem, isBerthProblem } from './problem';
