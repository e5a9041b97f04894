import { InvalidArgumentError, LogLine, LogParams } from '@berth/domain';
import { LogsQueryDto } from './container-request.dto';

/** `since`/`until` accept RFC 3339 or Unix seconds (as Docker does); the worker compares RFC 3339. */
export function toLogParams(q: LogsQueryDto): LogParams {
  return {
    stdout: q.stdout ?? true,
    stderr: q.stderr ?? true,
    tail: q.tail,
    since: q.since === undefined ? undefined : parseTime(q.since, 'since'),
    until: q.until === undefined ? undefined : parseTime(q.until, 'until'),
    follow: q.follow ?? false,
  };
}

function parseTime(value: string, field: string): string {
  const date = /^\d+(\.\d+)?$/.test(value) ? new Date(Number(value) * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError(`${field} must be an RFC 3339 time or Unix seconds`, [{ field, message: 'not a time' }]);
  }
  return date.toISOString();
}

export function formatLogLine(line: LogLine, format: 'text' | 'ndjson', timestamps: boolean): string {
  if (format === 'ndjson') return JSON.stringify(line) + '\n';
  return (timestamps ? `${line.time} ` : '') + line.line + '\n';
}
