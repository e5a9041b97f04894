import { createBerthClient } from './client';
import { listContainers, listHosts, listImages } from './generated/sdk.gen';
import type { Container } from './generated/types.gen';
import { paginate } from './paginate';
import { BerthProblem } from './problem';
import { json, type ScriptServer, scriptServer } from './testing/script-server';

const container = (name: string) => ({ id: `id-${name}`, name }) as Container;

describe('paginate', () => {
  let server: ScriptServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('yields every item of every page in order, passing each nextCursor, and stops after the last page', async () => {
    server = await scriptServer([
      json(200, { items: [container('a'), container('b')], nextCursor: 'cur-2' }),
      json(200, { items: [container('c')], nextCursor: null }),
    ]);
    const client = createBerthClient({ baseUrl: server.baseUrl, token: 't' });
    const names: string[] = [];
    for await (const c of paginate(listContainers, { client, query: { limit: 2, state: 'running' } })) names.push(c.name);
    expect(names).toEqual(['a', 'b', 'c']);
    expect(server.requests.map((r) => [r.path, r.query.get('cursor'), r.query.get('limit'), r.query.get('state')])).toEqual([
      ['/v1/containers', null, '2', 'running'],
      ['/v1/containers', 'cur-2', '2', 'running'],
    ]);
  });

  it('fetches no further page once the loop breaks', async () => {
    server = await scriptServer([json(200, { items: [container('a'), container('b')], nextCursor: 'cur-2' })]);
    const client = createBerthClient({ baseUrl: server.baseUrl, token: 't' });
    for await (const c of paginate(listContainers, { client })) {
      expect(c.name).toBe('a');
      break;
    }
    expect(server.requests).toHaveLength(1);
  });

  it('fails instead of looping when the server answers the cursor it was sent', async () => {
    server = await scriptServer([json(200, { items: [container('a')], nextCursor: 'same' }), json(200, { items: [container('b')], nextCursor: 'same' })]);
    const client = createBerthClient({ baseUrl: server.baseUrl, token: 't' });
    const names: string[] = [];
    const run = async () => {
      for await (const c of paginate(listContainers, { client })) names.push(c.name);
    };
    await expect(run()).rejects.toThrow('paginate: the server answered the cursor it was sent (same) again');
    expect(names).toEqual(['a', 'b']);
  });

  it('throws the BerthProblem of a page that fails', async () => {
    server = await scriptServer([
      json(200, { items: [container('a')], nextCursor: 'cur-2' }),
      json(400, {
        type: 'about:blank',
        status: 400,
        title: 'Bad Request',
        detail: 'bad cursor',
        reason: 'InvalidCursor',
        errors: [{ field: 'cursor', message: 'unknown' }],
      }),
    ]);
    const client = createBerthClient({ baseUrl: server.baseUrl, token: 't' });
    const seen: string[] = [];
    const failure = await (async () => {
      for await (const c of paginate(listContainers, { client })) seen.push(c.name);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['a']);
    expect((failure as BerthProblem).fieldError('cursor')).toBe('unknown');
  });
});

/** Never called: the types check (tsc) fails if paginate accepts a list that does not answer pages. */
export function paginateRefusesUnpaginatedLists(client: ReturnType<typeof createBerthClient>): void {
  // @ts-expect-error hosts are not paginated: HostList has no nextCursor
  void paginate(listHosts, { client });
  // @ts-expect-error images are not paginated
  void paginate(listImages, { client });
  // @ts-expect-error the query is listContainers' own
  void paginate(listContainers, { client, query: { limit: 'ten' } });
}
