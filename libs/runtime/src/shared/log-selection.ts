import { InvalidArgumentError, type LogLine, type LogParams } from '@berth/domain';

/**
 * Which log lines a caller asked for, with times as nanoseconds since the epoch
 * (log timestamps carry nanoseconds, which a Date would lose). Shared by every
 * runtime so they all filter alike: `since` and `until` are inclusive (as
 * Docker's), `tail` applies after the stream and time filters.
 */
export interface LogSelection {
  stdout: boolean;
  stderr: boolean;
  /** Only the last N matching lines of the history; undefined means all. */
  tail?: number;
  sinceNs?: bigint;
  untilNs?: bigint;
  follow: boolean;
}

export function toLogSelection(params: Partial<LogParams> = {}): LogSelection {
  if (params.tail !== undefined && !Number.isInteger(params.tail)) {
    throw new InvalidArgumentError('tail must be an integer', [{ field: 'tail', message: 'must be an integer' }]);
  }
  return {
    stdout: params.stdout ?? true,
    stderr: params.stderr ?? true,
    tail: params.tail === undefined || params.tail < 0 ? undefined : params.tail,
    sinceNs: params.since ? parseLogTimeParam(params.since, 'since') : undefined,
    untilNs: params.until ? parseLogTimeParam(params.until, 'until') : undefined,
    follow: params.follow ?? false,
  };
}

export function selects(selection: LogSelection, stream: 'stdout' | 'stderr', timeNs: bigint): boolean {
  if (!selection[stream]) return false;
  if (selection.sinceNs !== undefined && timeNs < selection.sinceNs) return false;
  return !isPastUntil(selection, timeNs);
}

export function isPastUntil(selection: LogSelection, timeNs: bigint): boolean {
  return selection.untilNs !== undefined && timeNs > selection.untilNs;
}

/** Keeps the last `limit` items pushed. */
export class TailBuffer<T> {
  private readonly buffer: T[] = [];
  constructor(private readonly limit: number) {}

  push(item: T): void {
    if (this.limit <= 0) return;
    this.buffer.push(item);
    if (this.buffer.length > this.limit) this.buffer.shift();
  }

  items(): T[] {
    return [...this.buffer];
  }
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** `2026-11-23T09:32:59.724767930+00:00` → nanoseconds since the epoch; undefined if malformed. */
export function parseTimestampNs(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  const zone = m[8].toUpperCase();
  const offsetMinutes = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  return BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
}

/** Nanoseconds since the epoch → RFC 3339 UTC with nine fraction digits. */
export function formatTimestampNs(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
}

export function dateToNs(date: Date): bigint {
  return BigInt(date.getTime()) * 1_000_000n;
}

/** `since`/`until` as RFC 3339 or Unix seconds with an optional fraction (`1700000000.5`). */
export function parseLogTimeParam(text: string, field: string): bigint {
  const unix = /^(\d{1,12})(?:\.(\d{1,9}))?$/.exec(text.trim());
  const ns = unix ? BigInt(unix[1]) * 1_000_000_000n + BigInt((unix[2] ?? '').padEnd(9, '0')) : parseTimestampNs(text.trim());
  if (ns === undefined) {
    throw new InvalidArgumentError(`invalid ${field} time ${JSON.stringify(text)}`, [{ field, message: 'expected an RFC 3339 time or Unix seconds' }]);
  }
  return ns;
}

/** A log line with its time in nanoseconds, before it is handed out. */
export interface TimedLogLine {
  stream: 'stdout' | 'stderr';
  timeNs: bigint;
  line: string;
}

export function toLogLine(line: TimedLogLine): LogLine {
  return { stream: line.stream, time: formatTimestampNs(line.timeNs), line: line.line };
}
