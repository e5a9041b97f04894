import { createBerthClient } from './client';
import { type EventReconnectInfo, followEvents } from './events';
import type { Event } from './generated/types.gen';
import { BerthProblem } from './problem';
import { chunks, json, type ScriptServer, scriptServer } from './testing/script-server';

const SSE = 'text/event-stream';
const event = (type: string, id: string): Event => ({ type, id, at: '2026-01-01T00:00:00.000Z', attributes: { name: `n-${id}` } });
const message = (e: Event, id?: string) => `${id ? `id: ${id}\n` : ''}event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
const FAST = { initialDelayMs: 1, maxDelayMs: 5 };

/** The first `count` events (the loop breaks then; a stream that never gives them fails the test's timeout). */
async function take(events: AsyncIterable<Event>, count: number): Promise<Event[]> {
  const got: Event[] = [];
  if (count <= 0) return got;
  for await (const e of events) {
    got.push(e);
    if (got.length >= count) break;
  }
  return got;
}

describe('followEvents', () => {
  let server: ScriptServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const clientOf = (s: ScriptServer) => createBerthClient({ baseUrl: s.baseUrl, token: 'berth_t' });

  it('yields each event, whole when the chunks split its message, and skips comments and data that is not an event', async () => {
    const a = event('container.created', 'c1');
    const b = event('container.running', 'c1');
    const text = ': connected\n\n' + message(a).replace(/\n/g, '\r\n') + 'data: not json\n\n' + message(b, '7');
    const cuts = [5, 17, 40, 41, 42, text.length - 1];
    const parts = cuts.map((at, i) => text.slice(i ? cuts[i - 1] : 0, at)).concat(text.slice(-1));
    expect(parts.join('')).toBe(text);
    server = await scriptServer([chunks(SSE, parts, 'hold')]);
    const stream = followEvents(clientOf(server), { types: ['container.', 'operation.succeeded'] });
    expect(await take(stream, 2)).toEqual([a, b]);
    expect(stream.lastEventId).toBe('7');
    const [request] = server.requests;
    expect(request.path).toBe('/v1/events');
    expect(request.query.getAll('type')).toEqual(['container.', 'operation.succeeded']);
    expect(request.headers.authorization).toBe('Bearer berth_t');
    expect(request.headers.accept).toBe(SSE);
    expect(request.headers['last-event-id']).toBeUndefined();
  });

  it('reconnects when the connection drops, sending the last event id', async () => {
    const [a, b, c] = [event('container.created', 'c1'), event('container.running', 'c1'), event('container.exited', 'c1')];
    server = await scriptServer([
      chunks(SSE, [message(a, '41'), 'event: container.running\ndata: {"ty'], 'cut'),
      chunks(SSE, [message(b, '42'), message(c)], 'hold'),
    ]);
    const reconnects: EventReconnectInfo[] = [];
    const stream = followEvents(clientOf(server), { reconnect: FAST, onReconnect: (info) => reconnects.push(info) });
    expect(await take(stream, 3)).toEqual([a, b, c]);
    expect(server.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, '41']);
    expect(reconnects.map((r) => [r.attempt, r.lastEventId, r.delayMs, (r.error as Error).name])).toEqual([[1, '41', 1, 'TypeError']]);
    expect(stream.lastEventId).toBe('42');
  });

  it('reconnects when the server ends the stream, without Last-Event-ID while none was sent, and backs off while nothing arrives', async () => {
    const a = event('operation.succeeded', 'op-1');
    server = await scriptServer([chunks(SSE, [': connected\n\n']), chunks(SSE, [': connected\n\n']), chunks(SSE, [message(a)], 'hold')]);
    const reconnects: EventReconnectInfo[] = [];
    const stream = followEvents(clientOf(server), { reconnect: { initialDelayMs: 2, maxDelayMs: 50 }, onReconnect: (info) => reconnects.push(info) });
    expect(await take(stream, 1)).toEqual([a]);
    expect(reconnects.map((r) => [r.attempt, r.delayMs, r.error])).toEqual([
      [1, 2, undefined],
      [2, 4, undefined],
    ]);
    expect(server.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, undefined, undefined]);
  });

  it('counts failures in a row only: an event resets them', async () => {
    const events = [1, 2, 3].map((n) => event('container.updated', `c${n}`));
    server = await scriptServer([
      ...events.slice(0, 2).map((e, i) => chunks(SSE, [message(e, `${i + 1}`)], 'cut')),
      chunks(SSE, [message(events[2], '3')], 'hold'),
    ]);
    const attempts: number[] = [];
    const stream = followEvents(clientOf(server), { reconnect: { ...FAST, retries: 1 }, onReconnect: (i) => attempts.push(i.attempt) });
    expect((await take(stream, 3)).map((e) => e.id)).toEqual(['c1', 'c2', 'c3']);
    expect(attempts).toEqual([1, 1]);
    expect(server.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, '1', '2']);
  });

  it('starts from the lastEventId it is given', async () => {
    server = await scriptServer([chunks(SSE, [message(event('container.deleted', 'c9'), '100')], 'hold')]);
    const stream = followEvents(clientOf(server), { lastEventId: '99' });
    expect(stream.lastEventId).toBe('99');
    expect((await take(stream, 1)).map((e) => e.type)).toEqual(['container.deleted']);
    expect(server.requests[0].headers['last-event-id']).toBe('99');
    expect(stream.lastEventId).toBe('100');
  });

  it('throws the BerthProblem of a 401 without retrying, and gives up after the retries it was given', async () => {
    server = await scriptServer([json(401, { type: 'about:blank', status: 401, title: 'Unauthorized', detail: 'unknown token', reason: 'Unauthenticated' })]);
    const failure = await take(followEvents(clientOf(server), { reconnect: FAST }), 1).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(BerthProblem);
    expect((failure as BerthProblem).status).toBe(401);
    expect(server.requests).toHaveLength(1);
    await server.close();

    server = await scriptServer(chunks(SSE, [': connected\n\ndata: {"ty'], 'cut'));
    const dropped = await take(followEvents(clientOf(server), { reconnect: { ...FAST, retries: 2 } }), 1).catch((e: unknown) => e);
    expect((dropped as Error).name).toBe('TypeError');
    expect(server.requests).toHaveLength(3);
  });

  it('ends quietly when the signal fires, while connected or while waiting to reconnect', async () => {
    server = await scriptServer([chunks(SSE, [message(event('container.created', 'c1'))], 'hold')]);
    const controller = new AbortController();
    const got: string[] = [];
    const started = Date.now();
    for await (const e of followEvents(clientOf(server), { signal: controller.signal })) {
      got.push(e.id);
      setTimeout(() => controller.abort(), 10);
    }
    expect(got).toEqual(['c1']);
    await server.close();

    server = await scriptServer(chunks(SSE, [': connected\n\n']));
    const waiting = new AbortController();
    const attempts: number[] = [];
    const run = take(
      followEvents(clientOf(server), { signal: waiting.signal, reconnect: { initialDelayMs: 60_000 }, onReconnect: (i) => attempts.push(i.attempt) }),
      1,
    );
    setTimeout(() => waiting.abort(), 50);
    expect(await run).toEqual([]);
    expect(attempts).toEqual([1]);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
