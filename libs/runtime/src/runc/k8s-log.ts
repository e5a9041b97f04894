import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { LogLine } from '@berth/domain';
import { isPastUntil, parseTimestampNs, selects, TailBuffer, toLogLine, type LogSelection, type TimedLogLine } from '../shared/log-selection';
import { sleep } from '../shared/poll';

/**
 * conmon's k8s-file log: one record per line, `RFC3339NANO stdout|stderr F|P text`.
 * `P` marks a fragment of a longer line (or output without a final newline); the
 * fragments of one stream are joined until its `F` record.
 */
export interface K8sLogRecord {
  timeNs: bigint;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  text: string;
}

/** A line ready for callers, with its time kept exact for filtering. */
export function parseK8sLogRecord(raw: string): K8sLogRecord | undefined {
  const firstSpace = raw.indexOf(' ');
  const secondSpace = raw.indexOf(' ', firstSpace + 1);
  if (firstSpace <= 0 || secondSpace < 0) return undefined;
  const stream = raw.slice(firstSpace + 1, secondSpace);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = raw.slice(secondSpace + 1, secondSpace + 2);
  if (tag !== 'F' && tag !== 'P') return undefined;
  const separator = raw.charAt(secondSpace + 2);
  if (separator !== ' ' && separator !== '') return undefined;
  const timeNs = parseTimestampNs(raw.slice(0, firstSpace));
  if (timeNs === undefined) return undefined;
  // conmon may append further tags after F/P separated by ':' (e.g. `F:extra`); none are used here.
  return { timeNs, stream, partial: tag === 'P', text: raw.slice(secondSpace + 3) };
}

/** Joins `P` fragments per stream; a line takes the time of its first fragment. */
export class PartialLineJoiner {
  private readonly pending = new Map<'stdout' | 'stderr', { timeNs: bigint; text: string }>();

  push(record: K8sLogRecord): TimedLogLine | undefined {
    const open = this.pending.get(record.stream);
    const timeNs = open?.timeNs ?? record.timeNs;
    const text = (open?.text ?? '') + record.text;
    if (record.partial) {
      this.pending.set(record.stream, { timeNs, text });
      return undefined;
    }
    this.pending.delete(record.stream);
    return { stream: record.stream, timeNs, line: text };
  }

  /** Fragments never completed (the writer ended mid-line), oldest first. */
  flush(): TimedLogLine[] {
    const lines = [...this.pending.entries()].map(([stream, p]) => ({ stream, timeNs: p.timeNs, line: p.text }));
    this.pending.clear();
    return lines.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
  }
}

export interface K8sLogReadOptions {
  selection: LogSelection;
  signal?: AbortSignal;
  /**
   * For `follow`: true once the writer has finished for good. Checked before each
   * read, so the read after the first `true` still sees the last lines.
   */
  isFinished?: () => Promise<boolean>;
  pollIntervalMs?: number;
  chunkBytes?: number;
}

/**
 * Reads the log in order, filtered by the selection; with `follow` keeps reading
 * what is appended until `isFinished` says so or the signal aborts.
 */
export async function* readK8sLog(path: string, options: K8sLogReadOptions): AsyncGenerator<LogLine> {
  const { selection, signal } = options;
  const reader = new K8sLogFileReader(path, options.chunkBytes);
  const joiner = new PartialLineJoiner();
  let pastUntil = false;

  // The lines appended since the last call that match; stops at the first line beyond `until`.
  async function* appended(flushPartials: boolean): AsyncGenerator<TimedLogLine> {
    const select = function* (line: TimedLogLine) {
      if (isPastUntil(selection, line.timeNs)) pastUntil = true;
      else if (selects(selection, line.stream, line.timeNs)) yield line;
    };
    for await (const raw of reader.newLines()) {
      const record = parseK8sLogRecord(raw);
      const line = record && joiner.push(record);
      if (line) yield* select(line);
      if (pastUntil) return;
    }
    if (flushPartials) for (const line of joiner.flush()) if (!pastUntil) yield* select(line);
  }

  try {
    const tail = selection.tail !== undefined ? new TailBuffer<TimedLogLine>(selection.tail) : undefined;
    for await (const line of appended(!selection.follow)) {
      if (tail) tail.push(line);
      else yield toLogLine(line);
    }
    for (const line of tail?.items() ?? []) yield toLogLine(line);
    if (!selection.follow) return;

    const interval = options.pollIntervalMs ?? 100;
    while (!signal?.aborted && !pastUntil) {
      const finished = options.isFinished ? await options.isFinished() : true;
      for await (const line of appended(finished)) yield toLogLine(line);
      if (finished) return;
      await sleep(interval, signal);
    }
  } finally {
    await reader.close();
  }
}

/** Reads a growing file by complete lines, remembering where it stopped. A missing file reads as empty. */
class K8sLogFileReader {
  private handle?: FileHandle;
  private position = 0;
  private remainder = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly path: string,
    private readonly chunkBytes = 64 * 1024,
  ) {}

  /** The complete lines written since the last call, one chunk at a time. */
  async *newLines(): AsyncGenerator<string> {
    if (!this.handle) {
      try {
        this.handle = await open(this.path, 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
    }
    const buffer = Buffer.alloc(this.chunkBytes);
    for (;;) {
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.position);
      if (bytesRead === 0) return;
      this.position += bytesRead;
      const lines = (this.remainder + this.decoder.write(buffer.subarray(0, bytesRead))).split('\n');
      this.remainder = lines.pop() ?? '';
      yield* lines;
    }
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}
