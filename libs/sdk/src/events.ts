import type { BerthClient } from './client';
import type { Event, StreamEventsData, StreamEventsErrors, StreamEventsResponses } from './generated/types.gen';
import { BodyReader } from './lines';
import { isAbort, isTransient, pause, reconnectDelay, type ReconnectInfo, type ReconnectOptions, reconnectSettings } from './retry';
import { SseParser } from './sse';

export interface FollowEventsOptions {
  /** Only these types, or prefixes ending in `.` (`container.`); every event by default. */
  types?: string[];
  /** Ends the iteration (the connection is closed). */
  signal?: AbortSignal;
  /** Resume after this event id (sent as `Last-Event-ID` on the first request too). */
  lastEventId?: string;
  /** How to reconnect: without end (until `signal` fires), 500 ms doubling to 15 s, by default; `false` never reconnects. */
  reconnect?: ReconnectOptions | false;
  /** Called before each reconnection, with the id it resumes after. */
  onReconnect?: (info: EventReconnectInfo) => void;
}

export interface EventReconnectInfo extends ReconnectInfo {
  /** The `Last-Event-ID` the next request sends, if the stream has sent ids. */
  lastEventId?: string;
}

/** The events of a {@link followEvents}, and the id to resume after (to keep across restarts). */
export interface EventStream extends AsyncGenerator<Event, void, undefined> {
  /** The last `id:` the server sent, or the one the stream began with. */
  readonly lastEventId: string | undefined;
}

const EVENT_RECONNECT: Required<ReconnectOptions> = { retries: Infinity, initialDelayMs: 500, maxDelayMs: 15_000 };
const EVENTS_URL: StreamEventsData['url'] = '/v1/events';

/**
 * The team's events as they happen (`GET /v1/events`, server-sent events):
 * each message's data as an {@link Event}.
 *
 * The stream is meant to stay open, so when it drops or the server closes it,
 * this connects again after a pause that doubles with each failure in a row
 * (and resets when an event arrives), sending `Last-Event-ID` once the server
 * has sent an `id:` so that a server which replays gives what was missed. Error
 * answers other than 502/503/504 are thrown as {@link BerthProblem}s; messages
 * whose data is not an event are skipped. The iteration ends when `signal`
 * fires or the loop breaks.
 *
 * @example
 * for await (const event of followEvents(client, { types: ['container.'], signal })) {
 *   console.log(event.type, event.id);
 * }
 */
export function followEvents(client: BerthClient, options: FollowEventsOptions = {}): EventStream {
  const parser = new SseParser(options.lastEventId);
  const stream = streamEvents(client, options, parser);
  return Object.defineProperty(stream, 'lastEventId', { get: () => parser.lastEventId || undefined, enumerable: true }) as EventStream;
}

async function* streamEvents(client: BerthClient, options: FollowEventsOptions, parser: SseParser): AsyncGenerator<Event, void, undefined> {
  const settings = reconnectSettings(options.reconnect, EVENT_RECONNECT);
  const { signal } = options;
  let failures = 0;
  for (;;) {
    if (signal?.aborted) return;
    let failure: unknown;
    let body: ReadableStream<Uint8Array> | undefined;
    try {
      body = await openEvents(client, options.types, parser.lastEventId, signal);
    } catch (error) {
      if (isAbort(error, signal)) return;
      if (!isTransient(error)) throw error;
      failure = error;
    }
    if (body) {
      const reader = new BodyReader(body);
      try {
        for (;;) {
          const read = await reader.read();
          if ('error' in read) {
            if (isAbort(read.error, signal)) return;
            failure = read.error;
            break;
          }
          for (const message of parser.push(read.text)) {
            const event = toEvent(message.data);
            if (!event) continue;
            failures = 0;
            yield event;
          }
          if (read.done) break;
        }
      } finally {
        parser.reset();
        reader.cancel();
      }
    }
    failures++;
    const gaveUp = failures > settings.retries;
    if (gaveUp && failure === undefined) return;
    if (gaveUp) throw failure;
    const delayMs = reconnectDelay(failures, { ...settings, initialDelayMs: parser.retryMs ?? settings.initialDelayMs }, failure);
    options.onReconnect?.({ attempt: failures, delayMs, error: failure, lastEventId: parser.lastEventId || undefined });
    await pause(delayMs, signal);
  }
}

/** The body of `GET /v1/events`, read as a stream rather than through the generated SSE client (see docs/sdk.md). */
async function openEvents(
  client: BerthClient,
  types: string[] | undefined,
  lastEventId: string | undefined,
  signal?: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  const headers: Record<string, string> = { Accept: 'text/event-stream' };
  if (lastEventId) headers['Last-Event-ID'] = lastEventId;
  const { data } = await client.get<StreamEventsResponses, StreamEventsErrors, true>({
    url: EVENTS_URL,
    security: [{ scheme: 'bearer', type: 'http' }],
    query: types?.length ? { type: types } : undefined,
    headers,
    parseAs: 'stream',
    signal,
  });
  const body = data as unknown as ReadableStream<Uint8Array> | null;
  if (!body) throw new TypeError('the event stream answered without a body');
  return body;
}

function toEvent(data: string): Event | undefined {
  try {
    const value = JSON.parse(data) as Partial<Event> | null;
    return value && typeof value.type === 'string' && typeof value.id === 'string' ? (value as Event) : undefined;
  } catch {
    return undefined;
  }
}
