import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogLine } from '@berth/domain';
import { formatTimestampNs, parseLogTimeParam, parseTimestampNs, toLogSelection } from '../shared/log-selection';
import { parseK8sLogRecord, PartialLineJoiner, readK8sLog, type K8sLogReadOptions } from './k8s-log';

const T = (second: number, nanos = 0) => `2026-11-23T09:00:${String(second).padStart(2, '0')}.${String(nanos).padStart(9, '0')}+00:00`;
const record = (second: number, stream: 'stdout' | 'stderr', tag: 'F' | 'P', text: string) => `${T(second)} ${stream} ${tag} ${text}\n`;

async function read(path: string, params: Parameters<typeof toLogSelection>[0], extra: Partial<K8sLogReadOptions> = {}): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const line of readK8sLog(path, { selection: toLogSelection(params), pollIntervalMs: 10, ...extra })) lines.push(line);
  return lines;
}

describe('parseK8sLogRecord', () => {
  it('reads time, stream, partial flag and text (spaces kept)', () => {
    expect(parseK8sLogRecord('2026-11-23T09:32:59.724767930+00:00 stdout F hello  world ')).toEqual({
      timeNs: parseTimestampNs('2026-11-23T09:32:59.724767930Z'),
      stream: 'stdout',
      partial: false,
      text: 'hello  world ',
    });
    expect(parseK8sLogRecord('2026-11-23T09:32:59.1Z stderr P ')).toMatchObject({ stream: 'stderr', partial: true, text: '' });
  });

  it('rejects what is not a record', () => {
    for (const raw of ['', 'garbage', 'not-a-time stdout F x', `${T(1)} stdin F x`, `${T(1)} stdout X x`, `${T(1)} stdout`]) {
      expect(parseK8sLogRecord(raw)).toBeUndefined();
    }
  });
});

describe('PartialLineJoiner', () => {
  it('joins P fragments of each stream until F, keeping the first fragment time', () => {
    const joiner = new PartialLineJoiner();
    const parse = (raw: string) => parseK8sLogRecord(raw.trimEnd())!;
    expect(joiner.push(parse(record(1, 'stdout', 'P', 'hel')))).toBeUndefined();
    expect(joiner.push(parse(record(2, 'stderr', 'F', 'oops')))).toMatchObject({ stream: 'stderr', line: 'oops' });
    expect(joiner.push(parse(record(3, 'stdout', 'F', 'lo')))).toEqual({
      stream: 'stdout',
      line: 'hello',
      timeNs: parseTimestampNs(T(1)),
    });
    expect(joiner.push(parse(record(4, 'stdout', 'P', 'tail')))).toBeUndefined();
    expect(joiner.flush()).toEqual([{ stream: 'stdout', line: 'tail', timeNs: parseTimestampNs(T(4)) }]);
    expect(joiner.flush()).toEqual([]);
  });
});

describe('timestamps', () => {
  it('parses RFC 3339 with nanoseconds and offsets, and formats as UTC', () => {
    const ns = parseTimestampNs('2026-11-23T10:00:01.000000042+01:00');
    expect(formatTimestampNs(ns!)).toBe('2026-11-23T09:00:01.000000042Z');
    expect(parseTimestampNs('2026-13-01T00:00:00Z')).toBeUndefined();
    expect(parseTimestampNs('yesterday')).toBeUndefined();
  });

  it('accepts since/until as RFC 3339 or Unix seconds', () => {
    expect(parseLogTimeParam('1700000000.5', 'since')).toBe(1_700_000_000_500_000_000n);
    expect(parseLogTimeParam('2023-11-14T22:13:20Z', 'since')).toBe(1_700_000_000_000_000_000n);
    expect(() => parseLogTimeParam('soon', 'until')).toThrow(expect.objectContaining({ errorClass: 'InvalidArgument' }));
  });
});

describe('readK8sLog', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-k8s-log-'));
    path = join(dir, 'ctr.log');
    await writeFile(
      path,
      [
        record(1, 'stdout', 'F', 'one'),
        record(2, 'stderr', 'F', 'two'),
        record(3, 'stdout', 'P', 'thr'),
        record(3, 'stdout', 'F', 'ee'),
        'a torn or foreign line\n',
        record(4, 'stdout', 'F', 'four'),
        record(5, 'stdout', 'P', 'no newline at exit'),
      ].join(''),
    );
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const texts = (lines: LogLine[]) => lines.map((l) => l.line);

  it('reads every line in order, joined, with its stream and UTC time', async () => {
    const lines = await read(path, {});
    expect(texts(lines)).toEqual(['one', 'two', 'three', 'four', 'no newline at exit']);
    expect(lines[1]).toEqual({ stream: 'stderr', time: '2026-11-23T09:00:02.000000000Z', line: 'two' });
  });

  it('filters by stream', async () => {
    expect(texts(await read(path, { stdout: false }))).toEqual(['two']);
    expect(texts(await read(path, { stderr: false }))).toHaveLength(4);
  });

  it('keeps the last lines with tail, after the filters', async () => {
    expect(texts(await read(path, { tail: 2 }))).toEqual(['four', 'no newline at exit']);
    expect(texts(await read(path, { tail: 2, stderr: false, until: T(4) }))).toEqual(['three', 'four']);
    expect(await read(path, { tail: 0 })).toEqual([]);
    expect(texts(await read(path, { tail: -1 }))).toHaveLength(5);
  });

  it('filters by since and until, both inclusive', async () => {
    expect(texts(await read(path, { since: T(3), until: T(4) }))).toEqual(['three', 'four']);
    expect(texts(await read(path, { until: T(2, 1) }))).toEqual(['one', 'two']);
  });

  it('reads a missing file as empty', async () => {
    expect(await read(join(dir, 'absent.log'), {})).toEqual([]);
  });

  it('reads across chunk boundaries, multi-byte characters included', async () => {
    await writeFile(path, record(1, 'stdout', 'F', 'héllo wörld ✓') + record(2, 'stdout', 'F', 'x'.repeat(100)));
    expect(texts(await read(path, {}, { chunkBytes: 7 }))).toEqual(['héllo wörld ✓', 'x'.repeat(100)]);
  });

  it('follows appended lines until the writer is finished, then reads the rest', async () => {
    await writeFile(path, record(1, 'stdout', 'F', 'first'));
    let finished = false;
    const appending = (async () => {
      await new Promise((r) => setTimeout(r, 50));
      await appendFile(path, record(2, 'stdout', 'P', 'sec'));
      await new Promise((r) => setTimeout(r, 50));
      await appendFile(path, record(2, 'stdout', 'F', 'ond') + record(3, 'stderr', 'F', 'last'));
      finished = true;
    })();
    const lines = await read(path, { follow: true }, { isFinished: async () => finished });
    await appending;
    expect(texts(lines)).toEqual(['first', 'second', 'last']);
  });

  it('stops following on abort', async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const lines = await read(path, { follow: true, tail: 1 }, { signal: abort.signal, isFinished: async () => false });
    expect(texts(lines)).toEqual(['four']);
  });

  it('stops following at the first line past until', async () => {
    const lines = await read(path, { follow: true, until: T(2) }, { isFinished: async () => false });
    expect(texts(lines)).toEqual(['one', 'two']);
  });
});
