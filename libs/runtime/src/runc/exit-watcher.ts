import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** conmon wrote (or rewrote) the exit file of a container. */
export interface ExitFileEvent {
  id: string;
  /** The code conmon wrote (128+n for a signal); undefined if unreadable. */
  exitCode?: number;
  /** The file's mtime: when the container finished. */
  finishedAt: Date;
}

export type ExitFileListener = (event: ExitFileEvent) => void;

export interface ExitWatcherOptions {
  /** The safety net: how often the directory is rescanned in case a watch event was lost. */
  scanIntervalMs?: number;
  /** Use fs.watch (default true); without it only the rescans report. */
  fsWatch?: boolean;
}

/**
 * Watches conmon's --exit-dir: fs.watch for speed, a periodic rescan for what
 * fs.watch may miss. Files present when it starts are history and not reported;
 * each later appearance (or rewrite) of a file is reported once.
 */
export class ExitWatcher {
  private readonly known = new Map<string, string>();
  private readonly listeners = new Set<ExitFileListener>();
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private started?: Promise<void>;
  private stopped = false;

  constructor(
    readonly dir: string,
    private readonly options: ExitWatcherOptions = {},
  ) {}

  on(listener: ExitFileListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Takes the snapshot of existing files, then watches. Idempotent. */
  start(): Promise<void> {
    this.started ??= this.begin();
    return this.started;
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  /** Compares the directory with what is known and reports new or rewritten files. */
  async scan(report = true): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    const present = new Set(names.filter(isExitFileName));
    for (const name of this.known.keys()) if (!present.has(name)) this.known.delete(name);
    await Promise.all([...present].map((name) => this.check(name, report)));
  }

  private async begin(): Promise<void> {
    await this.scan(false);
    if (this.stopped) return;
    if (this.options.fsWatch !== false) this.watch();
    this.timer = setInterval(() => void this.scan(), this.options.scanIntervalMs ?? 1000);
    this.timer.unref();
  }

  private watch(): void {
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, filename) => {
        if (filename && isExitFileName(filename.toString())) void this.check(filename.toString(), true);
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // No inotify (or the directory vanished): the periodic scan still reports exits.
    }
  }

  private async check(name: string, report: boolean): Promise<void> {
    let signature: string;
    let mtime: Date;
    try {
      const info = await stat(join(this.dir, name));
      if (!info.isFile()) return;
      signature = `${info.ino}:${info.mtimeMs}:${info.size}`;
      mtime = new Date(info.mtimeMs);
    } catch {
      this.known.delete(name);
      return;
    }
    // Compare and record in one synchronous step, so concurrent checks report a change once.
    if (this.known.get(name) === signature) return;
    this.known.set(name, signature);
    if (!report || this.stopped) return;
    const exitCode = await readExitCode(join(this.dir, name));
    const event: ExitFileEvent = { id: name, exitCode, finishedAt: mtime };
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own; the others still hear about the exit.
      }
    }
  }
}

/** conmon writes through a temporary `<id>.XXXXXX` file and renames it; ids never contain a dot. */
function isExitFileName(name: string): boolean {
  return name.length > 0 && !name.includes('.');
}

export async function readExitCode(path: string): Promise<number | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return /^-?\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}
