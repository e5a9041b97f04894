import { createBerthClient } from './client';
import type { LogLine } from './generated/types.gen';
import { compareLogTimes, followLogs, type LogReconnectInfo, readLogs } from './logs';
import { BerthProblem } from './problem';
import { chunks, json, type ScriptServer, scriptServer } from './testing/script-server';

const NDJSON = 'application/x-ndjson';
const line = (text: string, time: string, stream: LogLine['stream'] = 'stdout'): LogLine => ({ stream, time, line: text });
const ndjson = (...lines: LogLine[]) => lines.map((l) => JSON.stringify(l) + '\n').join('');
const FAST = { initialDelayMs: 1, maxDelayMs: 5 };

/** Collects at most `max` lines (a runaway follower fails the test instead of hanging it). */
async function collect(lines: AsyncIterable<LogLine>, max = 50): Promise<string[]> {
  const texts: string[] = [];
  for await (const l of lines) {
    texts.push(l.line);
    if (texts.length >= max) break;
  }
  return texts;
}

describe('followLogs', () => {
  let server: ScriptServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const clientOf = (s: ScriptServer) => createBerthClient({ baseUrl: s.baseUrl, token: 't' });

  it('yields each line, whole when the chunks split it, and ends when the server ends the response', async () => {
    const body = ndjson(
      line('one', '2026-01-01T00:00:00.000000001Z'),
      line('two', '2026-01-01T00:00:00.000000002Z', 'stderr'),
      line('three', '2026-01-01T00:00:01Z'),
    );
    server = await scriptServer([chunks(NDJSON, [body.slice(0, 10), body.slice(10, 70), body.slice(70, -1), '\n'])]);
    const got: LogLine[] = [];
    for await (const l of followLogs(clientOf(server), 'web-1', { tail: 10, stdout: true, since: new Date('2025-12-31T00:00:00Z') })) got.push(l);
    expect(got).toEqual([
      line('one', '2026-01-01T00:00:00.000000001Z'),
      line('two', '2026-01-01T00:00:00.000000002Z', 'stderr'),
      line('three', '2026-01-01T00:00:01Z'),
    ]);
    const [request] = server.requests;
    expect(request.path).toBe('/v1/containers/web-1/logs');
    expect(Object.fromEntries(request.query)).toEqual({ format: 'ndjson', follow: 'true', tail: '10', stdout: 'true', since: '2025-12-31T00:00:00.000Z' });
  });

  it('reconnects after the connection is cut, from the last line’s time, and gives each line once', async () => {
    const t1 = '2026-01-01T00:00:00.100000001Z';
    const t2 = '2026-01-01T00:00:00.100000500Z';
    const t3 = '2026-01-01T00:00:00.200000000Z';
    const first = ndjson(line('L1', t1), line('L2', t2), line('L3', t2, 'stderr'));
    const l4 = JSON.stringify(line('L4', t2));
    // The API keeps `since` to the millisecond, so the second answer starts again at L1.
    const second = ndjson(line('L1', t1), line('L2', t2), line('L3', t2, 'stderr'), line('L4', t2), line('L5', t3));
    server = await scriptServer([chunks(NDJSON, [first, l4.slice(0, 12)], 'cut'), chunks(NDJSON, [second.slice(0, 50), second.slice(50)])]);
    const reconnects: LogReconnectInfo[] = [];
    const texts = await collect(followLogs(clientOf(server), 'web-1', { tail: 2, reconnect: FAST, onReconnect: (info) => reconnects.push(info) }));
    expect(texts).toEqual(['L1', 'L2', 'L3', 'L4', 'L5']);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0].query.get('tail')).toBe('2');
    expect(server.requests[1].query.get('since')).toBe(t2);
    expect(server.requests[1].query.has('tail')).toBe(false);
    expect(server.requests[1].query.get('follow')).toBe('true');
    expect(reconnects.map((r) => [r.attempt, r.since, r.delayMs])).toEqual([[1, t2, 1]]);
  });

  it('gives up after the retries in a row and throws the last error', async () => {
    server = await scriptServer(chunks(NDJSON, ['{"line":"par'], 'cut'));
    const run = collect(followLogs(clientOf(server), 'web-1', { reconnect: { ...FAST, retries: 2 } }));
    await expect(run).rejects.toThrow();
    expect(server.requests).toHaveLength(3);
  });

  it('resets the count of failures once a line arrives', async () => {
    const cutAfter = (text: string, time: string) => chunks(NDJSON, [ndjson(line(text, time))], 'cut');
    server = await scriptServer([
      cutAfter('a', '2026-01-01T00:00:01Z'),
      cutAfter('b', '2026-01-01T00:00:02Z'),
      cutAfter('c', '2026-01-01T00:00:03Z'),
      chunks(NDJSON, [ndjson(line('d', '2026-01-01T00:00:04Z'))]),
    ]);
    const reconnects: number[] = [];
    const texts = await collect(followLogs(clientOf(server), 'web-1', { reconnect: { ...FAST, retries: 1 }, onReconnect: (i) => reconnects.push(i.attempt) }));
    expect(texts).toEqual(['a', 'b', 'c', 'd']);
    expect(reconnects).toEqual([1, 1, 1]);
  });

  it('retries a 503 and throws a 404 at once', async () => {
    const unavailable = json(
      503,
      { type: 'about:blank', status: 503, title: 'Service Unavailable', detail: 'host away', reason: 'HostUnavailable' },
      { 'Retry-After': '0' },
    );
    server = await scriptServer([unavailable, chunks(NDJSON, [ndjson(line('up', '2026-01-01T00:00:01Z'))])]);
    expect(await collect(followLogs(clientOf(server), 'web-1', { reconnect: FAST }))).toEqual(['up']);
    await server.close();

    server = await scriptServer([
      json(404, { type: 'about:blank', status: 404, title: 'Not Found', detail: 'no container nope', reason: 'ContainerNotFound' }),
    ]);
    const failure = await collect(followLogs(clientOf(server), 'nope', { reconnect: FAST })).catch((e: unknown) => e);
    expect((failure as BerthProblem).reason).toBe('ContainerNotFound');
    expect(server.requests).toHaveLength(1);
  });

  it('does not reconnect when reconnect is false', async () => {
    server = await scriptServer(chunks(NDJSON, [ndjson(line('a', '2026-01-01T00:00:01Z'))], 'cut'));
    const seen: string[] = [];
    const failure = await (async () => {
      for await (const l of followLogs(clientOf(server!), 'web-1', { reconnect: false })) seen.push(l.line);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['a']);
    expect((failure as Error).name).toBe('TypeError');
    expect(server.requests).toHaveLength(1);
  });

  it('ends quietly when the signal fires', async () => {
    server = await scriptServer([chunks(NDJSON, [ndjson(line('a', '2026-01-01T00:00:01Z'))], 'hold')]);
    const controller = new AbortController();
    const texts: string[] = [];
    const started = Date.now();
    for await (const l of followLogs(clientOf(server), 'web-1', { signal: controller.signal })) {
      texts.push(l.line);
      setTimeout(() => controller.abort(), 20);
    }
    expect(texts).toEqual(['a']);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.requests).toHaveLength(1);
  });

  it('closes the connection when the loop breaks', async () => {
    let closed: () => void = () => undefined;
    const connectionClosed = new Promise<string>((resolve) => (closed = () => resolve('closed')));
    const hold = chunks(NDJSON, [ndjson(line('a', '2026-01-01T00:00:01Z'))], 'hold');
    server = await scriptServer((req, res, index) => {
      res.on('close', closed);
      return hold(req, res, index);
    });
    for await (const l of followLogs(clientOf(server), 'web-1')) {
      expect(l.line).toBe('a');
      break;
    }
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 1_000).unref());
    expect(await Promise.race([connectionClosed, timeout])).toBe('closed');
    expect(server.requests).toHaveLength(1);
  });
});

describe('readLogs', () => {
  it('answers the lines so far, without following', async () => {
    const server = await scriptServer([chunks(NDJSON, [ndjson(line('x', '2026-01-01T00:00:01Z'), line('y', '2026-01-01T00:00:02Z', 'stderr')).slice(0, -1)])]);
    try {
      const client = createBerthClient({ baseUrl: server.baseUrl, token: 't' });
      const lines = await readLogs(client, 'web-1', { until: '2026-01-02T00:00:00Z', stderr: false });
      expect(lines).toEqual([line('x', '2026-01-01T00:00:01Z'), line('y', '2026-01-01T00:00:02Z', 'stderr')]);
      expect(Object.fromEntries(server.requests[0].query)).toEqual({ format: 'ndjson', follow: 'false', stderr: 'false', until: '2026-01-02T00:00:00Z' });
    } finally {
      await server.close();
    }
  });
});

describe('compareLogTimes', () => {
  it('orders RFC 3339 times to the nanosecond, across zones', () => {
    expect(compareLogTimes('2026-01-01T00:00:00.100000001Z', '2026-01-01T00:00:00.1Z')).toBe(1);
    expect(compareLogTimes('2026-01-01T00:00:00.1Z', '2026-01-01T00:00:00.100000000Z')).toBe(0);
    expect(compareLogTimes('2026-01-01T01:00:00.5+01:00', '2026-01-01T00:00:00.500000001Z')).toBe(-1);
    expect(compareLogTimes('not a time', 'not a timf')).toBe(-1);
  });
});
