import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitWatcher, type ExitFileEvent } from './exit-watcher';

/** Writes an exit file as conmon does: a temporary file, then a rename. */
async function writeExitFile(dir: string, id: string, code: string): Promise<void> {
  const temp = join(dir, `${id}.AB12CD`);
  await writeFile(temp, code);
  await rename(temp, join(dir, id));
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  for (let waited = 0; !check() && waited < ms; waited += 10) await new Promise((r) => setTimeout(r, 10));
}

describe('ExitWatcher', () => {
  let dir: string;
  let watcher: ExitWatcher;
  let events: ExitFileEvent[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-exits-'));
    events = [];
  });
  afterEach(async () => {
    watcher?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (options: ConstructorParameters<typeof ExitWatcher>[1] = {}) => {
    watcher = new ExitWatcher(dir, { scanIntervalMs: 50, ...options });
    watcher.on((event) => events.push(event));
    await watcher.start();
  };

  it('reports a new exit file once, with its code and mtime, ignoring the temporary file', async () => {
    await start();
    await writeExitFile(dir, 'ctr_a', '3');
    await until(() => events.length > 0);
    await new Promise((r) => setTimeout(r, 150)); // a few rescans later
    expect(events).toEqual([{ id: 'ctr_a', exitCode: 3, finishedAt: expect.any(Date) }]);
    expect(Math.abs(events[0].finishedAt.getTime() - Date.now())).toBeLessThan(5000);
  });

  it('does not report files that were there before it started', async () => {
    await writeExitFile(dir, 'ctr_old', '0');
    await start();
    await new Promise((r) => setTimeout(r, 150));
    expect(events).toEqual([]);
  });

  it('reports a rewritten file again (the container ran again)', async () => {
    await start();
    await writeExitFile(dir, 'ctr_b', '0');
    await until(() => events.length === 1);
    await rm(join(dir, 'ctr_b'));
    await writeExitFile(dir, 'ctr_b', '137');
    await until(() => events.length === 2);
    expect(events.map((e) => [e.id, e.exitCode])).toEqual([
      ['ctr_b', 0],
      ['ctr_b', 137],
    ]);
  });

  it('still reports through the periodic scan without fs.watch', async () => {
    await start({ fsWatch: false });
    await writeExitFile(dir, 'ctr_c', '1');
    await until(() => events.length > 0);
    expect(events).toEqual([expect.objectContaining({ id: 'ctr_c', exitCode: 1 })]);
  });

  it('reports an unreadable code as undefined and survives a throwing listener', async () => {
    await start();
    watcher.on(() => {
      throw new Error('listener failure');
    });
    await writeExitFile(dir, 'ctr_d', 'garbage');
    await until(() => events.length > 0);
    expect(events).toEqual([expect.objectContaining({ id: 'ctr_d', exitCode: undefined })]);
  });

  it('stops reporting once stopped', async () => {
    await start();
    watcher.stop();
    await writeExitFile(dir, 'ctr_e', '0');
    await new Promise((r) => setTimeout(r, 150));
    expect(events).toEqual([]);
  });
});
