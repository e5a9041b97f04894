import type { BerthClient } from './client';
import { getContainerLogs } from './generated/sdk.gen';
import type { GetContainerLogsData, LogLine } from './generated/types.gen';
import { BodyReader, LineSplitter } from './lines';
import { isAbort, isTransient, pause, reconnectDelay, type ReconnectInfo, type ReconnectOptions, reconnectSettings } from './retry';

/** Which lines to read: both streams, from the start, by default. */
export interface LogSelection {
  stdout?: boolean;
  stderr?: boolean;
  /** Only lines written at or after this time (RFC 3339 or Unix seconds, or a Date). */
  since?: string | Date;
  /** Only the last N lines (of those `since` selects). */
  tail?: number;
  /** Cancels the request; a follower then ends quietly, {@link readLogs} throws the abort. */
  signal?: AbortSignal;
}

export interface ReadLogsOptions extends LogSelection {
  /** Only lines written before this time. */
  until?: string | Date;
}

export interface FollowLogsOptions extends LogSelection {
  /** How to reconnect after the connection dropped: 5 attempts in a row, 250 ms doubling to 5 s, by default; `false` never reconnects. */
  reconnect?: ReconnectOptions | false;
  /** Called before each reconnection, with the time it resumes from. */
  onReconnect?: (info: LogReconnectInfo) => void;
}

export interface LogReconnectInfo extends ReconnectInfo {
  /** The `since` of the next request: the time of the last line given (absent when none was). */
  since?: string;
}

const LOG_RECONNECT: Required<ReconnectOptions> = { retries: 5, initialDelayMs: 250, maxDelayMs: 5_000 };

/**
 * A container's log lines so far, oldest first (`GET /v1/containers/{id}/logs?format=ndjson`).
 *
 * @example
 * const lines = await readLogs(client, 'web-1', { tail: 100 });
 */
export async function readLogs(client: BerthClient, containerId: string, options: ReadLogsOptions = {}): Promise<LogLine[]> {
  const body = await openLogs(client, containerId, { ...selection(options), until: timeParam(options.until), follow: false }, options.signal);
  const lines: LogLine[] = [];
  if (!body) return lines;
  const reader = new BodyReader(body);
  const splitter = new LineSplitter();
  for (;;) {
    const read = await reader.read();
    if ('error' in read) throw read.error;
    for (const text of splitter.push(read.text)) if (text) lines.push(parseLogLine(text));
    if (read.done) {
      const last = splitter.flush();
      if (last) lines.push(parseLogLine(last));
      return lines;
    }
  }
}

/**
 * A container's log lines as they are written, until it exits: the lines so
 * far (or the last `tail`), then each new one (`format=ndjson&follow=true`).
 *
 * When the connection drops before the server ended the response, it connects
 * again with `since` set to the time of the last line it gave and skips what it
 * already gave (the lines before that time, and as many at that time as it gave),
 * so each line comes once. Failures in a row are bounded by `reconnect.retries`;
 * after the last the error is thrown. Error answers (404, 401, …) are thrown as
 * {@link BerthProblem}s; a 502/503/504 is retried like a dropped connection.
 *
 * The iteration ends when the server ends the response (the container exited),
 * when `signal` fires, or when the loop breaks (the connection is closed then).
 *
 * @example
 * for await (const line of followLogs(client, container.id, { signal })) {
 *   process[line.stream].write(line.line + '\n');
 * }
 */
export async function* followLogs(client: BerthClient, containerId: string, options: FollowLogsOptions = {}): AsyncGenerator<LogLine, void, undefined> {
  const settings = reconnectSettings(options.reconnect, LOG_RECONNECT);
  const { signal } = options;
  /** The last line given, and how many were given with its time. */
  let given: { time: string; count: number } | undefined;
  let failures = 0;
  for (;;) {
    if (signal?.aborted) return;
    const query: Query = given ? { ...selection(options), since: given.time, tail: undefined, follow: true } : { ...selection(options), follow: true };
    let failure: unknown;
    let body: ReadableStream<Uint8Array> | undefined;
    try {
      body = await openLogs(client, containerId, query, signal);
    } catch (error) {
      if (isAbort(error, signal)) return;
      if (!isTransient(error)) throw error;
      failure = error;
    }
    if (body) {
      const reader = new BodyReader(body);
      const splitter = new LineSplitter();
      /** After a reconnection: the lines still to skip, those the previous connections gave. */
      let skip = given && { time: given.time, count: given.count };
      try {
        for (;;) {
          const read = await reader.read();
          if ('error' in read) {
            if (isAbort(read.error, signal)) return;
            failure = read.error;
            break;
          }
          const texts = splitter.push(read.text);
          if (read.done) texts.push(splitter.flush());
          for (const text of texts) {
            if (!text) continue;
            const line = parseLogLine(text);
            if (skip) {
              const order = compareLogTimes(line.time, skip.time);
              if (order < 0 || (order === 0 && skip.count-- > 0)) continue;
              skip = undefined;
            }
            given = given && compareLogTimes(line.time, given.time) === 0 ? { time: given.time, count: given.count + 1 } : { time: line.time, count: 1 };
            failures = 0;
            yield line;
          }
          if (read.done) return;
        }
      } finally {
        reader.cancel();
      }
    } else if (failure === undefined) {
      return;
    }
    failures++;
    if (failures > settings.retries) throw failure;
    const delayMs = reconnectDelay(failures, settings, failure);
    options.onReconnect?.({ attempt: failures, delayMs, error: failure, since: given?.time });
    await pause(delayMs, signal);
  }
}

type Query = NonNullable<GetContainerLogsData['query']>;

function selection(options: LogSelection): Query {
  return { stdout: options.stdout, stderr: options.stderr, since: timeParam(options.since), tail: options.tail };
}

function timeParam(time: string | Date | undefined): string | undefined {
  return time instanceof Date ? time.toISOString() : time;
}

/** The body of a logs request as a stream (the generated type says LogLine: it is one per line). */
async function openLogs(client: BerthClient, id: string, query: Query, signal: AbortSignal | undefined): Promise<ReadableStream<Uint8Array> | undefined> {
  const { data } = await getContainerLogs({ client, path: { id }, query: { ...query, format: 'ndjson' }, parseAs: 'stream', signal });
  return (data as unknown as ReadableStream<Uint8Array> | null) ?? undefined;
}

function parseLogLine(text: string): LogLine {
  const value = JSON.parse(text) as Partial<LogLine> | null;
  if (!value || typeof value.line !== 'string' || typeof value.time !== 'string') throw new Error(`not a log line: ${text.slice(0, 200)}`);
  return { stream: value.stream === 'stderr' ? 'stderr' : 'stdout', time: value.time, line: value.line };
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Orders two RFC 3339 times to the nanosecond (a Date keeps only
 * milliseconds): negative when `a` is earlier, 0 when the same instant.
 * Times that do not parse are compared as text.
 */
export function compareLogTimes(a: string, b: string): number {
  const x = nanoseconds(a);
  const y = nanoseconds(b);
  if (x === undefined || y === undefined) return a < b ? -1 : a > b ? 1 : 0;
  return x < y ? -1 : x > y ? 1 : 0;
}

function nanoseconds(time: string): bigint | undefined {
  const m = RFC3339.exec(time);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1].replace(/[t ]/, 'T')}${m[3].toUpperCase()}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
