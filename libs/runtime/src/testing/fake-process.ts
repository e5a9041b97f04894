import type { ParsedSignal } from '../shared/signals';

/** A scripted process: write output, watch for signals, resolve with the exit code. */
export type FakeProgram = (process: FakeProcess) => Promise<number>;

export interface FakeProcess {
  readonly argv: string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly uid: number;
  readonly gid: number;
  readonly hostname: string;
  write(stream: 'stdout' | 'stderr', text: string): void;
  /** Aborts when the process is killed (SIGKILL); the program's result is then ignored. */
  readonly killed: AbortSignal;
  /** Called for every signal other than SIGKILL. */
  onSignal(handler: (signal: ParsedSignal) => void): void;
}
