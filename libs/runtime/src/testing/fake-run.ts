import { dateToNs, type TimedLogLine } from '../shared/log-selection';
import type { ParsedSignal } from '../shared/signals';
import type { FakeProcess, FakeProgram } from './fake-process';
import { runFakeProgram } from './fake-shell';

/** What a run writes to and reads from: its container's process settings, log and waiters. */
export interface FakeRunTarget {
  readonly process: Omit<FakeProcess, 'write' | 'killed' | 'onSignal'>;
  readonly logs: TimedLogLine[];
  /** Woken when lines are logged. */
  readonly changed: Set<() => void>;
}

/** One run of a container's init process. */
export class FakeRun {
  readonly exited: Promise<number>;
  private readonly kill = new AbortController();
  private readonly signalHandlers: ((signal: ParsedSignal) => void)[] = [];
  private readonly partial = { stdout: '', stderr: '' };
  /** While paused: output and signals wait here, and so does the exit. */
  private frozen?: { writes: ['stdout' | 'stderr', string][]; signals: ParsedSignal[]; thawed: Promise<void>; thaw: () => void };

  constructor(
    private readonly container: FakeRunTarget,
    program: FakeProgram | undefined,
  ) {
    const process: FakeProcess = {
      ...container.process,
      write: (stream, text) => this.write(stream, text),
      killed: this.kill.signal,
      onSignal: (handler) => this.signalHandlers.push(handler),
    };
    const running = runFakeProgram(program, process);
    const killed = new Promise<number>((resolve) => this.kill.signal.addEventListener('abort', () => resolve(137), { once: true }));
    this.exited = Promise.race([running, killed]).then(async (code) => {
      await this.frozen?.thawed;
      this.flush();
      this.kill.abort(); // ends background jobs and timers, as the PID namespace dies with its init
      return code;
    });
  }

  get killed(): AbortSignal {
    return this.kill.signal;
  }

  deliver(signal: ParsedSignal): void {
    if (this.frozen) this.frozen.signals.push(signal);
    else if (signal.number === 9) this.kill.abort();
    else this.signalHandlers.forEach((handler) => handler(signal));
  }

  pause(): void {
    if (this.frozen) return;
    let thaw = () => undefined as void;
    const thawed = new Promise<void>((resolve) => (thaw = resolve));
    this.frozen = { writes: [], signals: [], thawed, thaw };
  }

  resume(): void {
    const frozen = this.frozen;
    if (!frozen) return;
    this.frozen = undefined;
    frozen.writes.forEach(([stream, text]) => this.write(stream, text));
    frozen.signals.forEach((signal) => this.deliver(signal));
    frozen.thaw();
  }

  private write(stream: 'stdout' | 'stderr', text: string): void {
    if (this.kill.signal.aborted) return;
    if (this.frozen) {
      this.frozen.writes.push([stream, text]);
      return;
    }
    const lines = (this.partial[stream] + text).split('\n');
    this.partial[stream] = lines.pop() ?? '';
    for (const line of lines) this.container.logs.push({ stream, timeNs: dateToNs(new Date()), line });
    if (lines.length) this.container.changed.forEach((wake) => wake());
  }

  private flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.container.logs.push({ stream, timeNs: dateToNs(new Date()), line: this.partial[stream] });
      this.partial[stream] = '';
    }
  }
}
