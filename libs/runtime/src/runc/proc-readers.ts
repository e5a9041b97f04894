import { readFile } from 'node:fs/promises';

/** What /proc says about processes and the host, for stats and top. */

/** USER_HZ: /proc/stat counts in 1/100 s on every Linux architecture Berth runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Total CPU time of the host (all CPUs) in nanoseconds, from /proc/stat's first line, as Docker computes it. */
export function parseProcStatSystemNanos(stat: string): number | undefined {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  // user nice system idle iowait irq softirq (Docker leaves out steal and guest).
  const ticks = line
    .trim()
    .split(/\s+/)
    .slice(1, 8)
    .reduce((sum, field) => sum + (Number(field) || 0), 0);
  return (ticks * 1e9) / CLOCK_TICKS_PER_SECOND;
}

export async function hostSystemNanos(): Promise<number | undefined> {
  return parseProcStatSystemNanos(await readFile('/proc/stat', 'utf8').catch(() => ''));
}

/** rx/tx bytes over every interface but lo, from /proc/<pid>/net/dev. */
export function parseNetDev(text: string): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (!name || name === 'lo' || name.includes('|')) continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    rxBytes += Number(fields[0]) || 0;
    txBytes += Number(fields[8]) || 0;
  }
  return { rxBytes, txBytes };
}

export async function readNetDev(pid: number): Promise<{ rxBytes: number; txBytes: number } | undefined> {
  const text = await readFile(`/proc/${pid}/net/dev`, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseNetDev(text);
}

export interface ProcProcess {
  pid: number;
  ppid: number;
  uid: number;
  state: string;
  comm: string;
  args: string[];
}

/** `/proc/<pid>/stat`: the command sits in parentheses and may itself hold spaces or parentheses. */
export function parseProcStat(text: string): { comm: string; state: string; ppid: number } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(' ');
  return { comm: text.slice(open + 1, close), state: rest[0] ?? '?', ppid: Number(rest[1]) || 0 };
}

/** A process as /proc shows it; undefined when it is gone. */
export async function readProcProcess(pid: number): Promise<ProcProcess | undefined> {
  try {
    const [stat, status, cmdline] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/status`, 'utf8'),
      readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''),
    ]);
    const parsed = parseProcStat(stat);
    if (!parsed) return undefined;
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const args = cmdline.split('\0');
    if (args[args.length - 1] === '') args.pop();
    return { pid, ppid: parsed.ppid, uid, state: parsed.state, comm: parsed.comm, args };
  } catch {
    return undefined;
  }
}

/** uid → name from a passwd file's text. */
export function userNames(passwd: string | undefined): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of (passwd ?? '').split('\n')) {
    const [name, , uid] = line.trim().split(':');
    if (name && uid && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), name);
  }
  return names;
}
