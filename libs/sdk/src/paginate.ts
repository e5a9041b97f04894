/**
 * One page of a cursor-paginated list: its items and the cursor of the next
 * page, `null` on the last. Of the document's lists only `listContainers`
 * answers pages (`ContainerPage`); the others answer every item at once and
 * are refused by {@link paginate}'s types.
 */
export interface CursorPage<TItem = unknown> {
  items: TItem[];
  nextCursor: string | null;
}

/** A generated list function whose answer is a {@link CursorPage} (and whose query takes `cursor`). */
export type PaginatedList = (options: never) => Promise<{ data: CursorPage }>;

/** The options `fn` takes: `{ client, query, … }`. */
export type PaginateOptions<F> = F extends (options?: infer O) => unknown ? NonNullable<O> : never;

/** The item type of the pages `fn` answers (`Container` for `listContainers`). */
export type PageItem<F extends PaginatedList> = Extract<Awaited<ReturnType<F>>, { data: CursorPage }>['data']['items'][number];

/**
 * Every item of a cursor-paginated list, page after page, in the server's
 * order: calls `fn` with `options`, then again with `query.cursor` set to each
 * answer's `nextCursor` until it is null. Pages are fetched as the loop asks for
 * more, so breaking out early fetches no further page. A server that answers the
 * cursor it was sent is an error (it would loop forever).
 *
 * @example
 * for await (const container of paginate(listContainers, { client, query: { limit: 50, state: 'running' } })) {
 *   console.log(container.name);
 * }
 */
export async function* paginate<F extends PaginatedList>(fn: F, options: PaginateOptions<F>): AsyncGenerator<PageItem<F>, void, undefined> {
  const list = fn as unknown as (options: { query?: { cursor?: string } }) => Promise<{ data: CursorPage<PageItem<F>> }>;
  const base = options as { query?: { cursor?: string } };
  let cursor = base.query?.cursor;
  for (;;) {
    const { data } = await list({ ...base, query: { ...base.query, cursor } });
    yield* data.items;
    if (!data.nextCursor) return;
    if (data.nextCursor === cursor) throw new Error(`paginate: the server answered the cursor it was sent (${cursor}) again`);
    cursor = data.nextCursor;
  }
}
