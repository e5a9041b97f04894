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
export { BerthOperationFailed, BerthOperationTimeout, isBerthOperationFailed, isOperationFinished, waitForOperation } from './operations';
export type { OperationRef, WaitForOperationOptions } from './operations';
export { paginate } from './paginate';
export type { CursorPage, PageItem, PaginatedList, PaginateOptions } from './paginate';
export { followLogs, readLogs } from './logs';
export type { FollowLogsOptions, LogReconnectInfo, LogSelection, ReadLogsOptions } from './logs';
export { followEvents } from './events';
export type { EventReconnectInfo, EventStream, FollowEventsOptions } from './events';
export type { ReconnectInfo, ReconnectOptions } from './retry';
