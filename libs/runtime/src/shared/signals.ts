import { constants } from 'node:os';
import { InvalidArgumentError } from '@berth/domain';

/** A signal as callers may write it, checked against the host's signal table. */
export interface ParsedSignal {
  /** `SIGTERM`, or the bare number for signals without a name here (real-time ones). */
  name: string;
  number: number;
}

const MAX_SIGNAL = 64;
const byName = constants.signals as Record<string, number>;

/** Accepts `SIGTERM`, `TERM`, `term`, `15` (or 15); anything else is an InvalidArgumentError. */
export function parseSignal(input: string | number): ParsedSignal {
  const text = String(input).trim();
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (number < 1 || number > MAX_SIGNAL) throw invalidSignal(text);
    return { name: nameOf(number) ?? text, number };
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const number = byName[name];
  if (number === undefined) throw invalidSignal(text);
  return { name, number };
}

function nameOf(number: number): string | undefined {
  return Object.keys(byName).find((name) => byName[name] === number);
}

function invalidSignal(text: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `invalid signal: ${JSON.stringify(text)}`,
    [{ field: 'signal', message: 'expected a signal name like SIGTERM or TERM, or a number' }],
    'InvalidSignal',
  );
}

/** The exit code a shell reports for a process killed by this signal (SIGKILL → 137). */
export function exitCodeForSignal(signal: ParsedSignal): number {
  return 128 + signal.number;
}
