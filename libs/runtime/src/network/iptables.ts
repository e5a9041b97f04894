import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InternalError } from '@berth/domain';
import { execFileRunner, type ProcessRunner } from '../shared/process-runner';

/** One rule of an `iptables-save` dump: its chain and its arguments after `-A <chain>`. */
export interface SavedRule {
  table: string;
  chain: string;
  args: string[];
}

export interface SavedTable {
  name: string;
  /** Every chain declared in the table, built-in ones included. */
  chains: string[];
  rules: SavedRule[];
}

export class IptablesError extends InternalError {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(`iptables ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim() || 'no output'}`, 'IptablesFailed');
  }
}

export interface IptablesOptions {
  runner?: ProcessRunner;
  /** Directory of iptables, iptables-save and iptables-restore (default /usr/sbin). */
  binDir?: string;
  timeoutMs?: number;
}

/** Seconds to wait for the xtables lock, so concurrent writers (plugins, other tools) queue instead of failing. */
const LOCK_WAIT_SECONDS = '10';

/** The iptables CLI (IPv4), wrapped once: argument arrays in, `IptablesError` out. */
export class Iptables {
  private readonly runner: ProcessRunner;
  private readonly binDir: string;
  private readonly timeoutMs: number;

  constructor(options: IptablesOptions = {}) {
    this.runner = options.runner ?? execFileRunner;
    this.binDir = options.binDir ?? '/usr/sbin';
    this.timeoutMs = options.timeoutMs ?? 20_000;
  }

  async run(args: readonly string[]): Promise<string> {
    const full = ['-w', LOCK_WAIT_SECONDS, ...args];
    const result = await this.runner.run(`${this.binDir}/iptables`, full, { timeoutMs: this.timeoutMs });
    if (result.exitCode !== 0) throw new IptablesError(args, result.exitCode, result.stderr);
    return result.stdout;
  }

  /** Runs and reports success as a boolean (for `-C`, and deletes of what may be gone). */
  async succeeds(args: readonly string[]): Promise<boolean> {
    try {
      await this.run(args);
      return true;
    } catch (err) {
      if (err instanceof IptablesError) return false;
      throw err;
    }
  }

  async save(table: string): Promise<SavedTable> {
    const result = await this.runner.run(`${this.binDir}/iptables-save`, ['-t', table], { timeoutMs: this.timeoutMs });
    if (result.exitCode !== 0) throw new IptablesError(['iptables-save', '-t', table], result.exitCode, result.stderr);
    return parseIptablesSave(result.stdout).find((t) => t.name === table) ?? { name: table, chains: [], rules: [] };
  }

  /**
   * Applies an iptables-restore document atomically without flushing the tables;
   * every chain it declares is flushed and refilled (that is how Berth rewrites its own chains).
   */
  async restore(document: string): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-iptables-'));
    try {
      const file = join(dir, 'rules');
      await writeFile(file, document, { mode: 0o600 });
      const args = ['-w', LOCK_WAIT_SECONDS, '--noflush', file];
      const result = await this.runner.run(`${this.binDir}/iptables-restore`, args, { timeoutMs: this.timeoutMs });
      if (result.exitCode !== 0) throw new IptablesError(['iptables-restore', '--noflush'], result.exitCode, result.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Makes `-j target` the first rule of `chain` (once), as Docker keeps DOCKER-USER first. */
  async ensureFirstJump(table: string, chain: string, target: string, saved?: SavedTable): Promise<void> {
    const rules = (saved ?? (await this.save(table))).rules.filter((r) => r.chain === chain);
    const isJump = (r: SavedRule) => r.args.length === 2 && r.args[0] === '-j' && r.args[1] === target;
    if (rules.length > 0 && isJump(rules[0]) && rules.filter(isJump).length === 1) return;
    for (let i = rules.filter(isJump).length; i > 0; i--) await this.run(['-t', table, '-D', chain, '-j', target]);
    await this.run(['-t', table, '-I', chain, '1', '-j', target]);
  }

  /** Deletes every rule of `table` that jumps to `target`, then the chain itself; a missing chain is fine. */
  async removeChain(table: string, target: string): Promise<void> {
    const saved = await this.save(table);
    if (!saved.chains.includes(target)) return;
    for (const rule of saved.rules) {
      if (jumpTarget(rule.args) === target && rule.chain !== target) await this.run(['-t', table, '-D', rule.chain, ...rule.args]);
    }
    await this.run(['-t', table, '-F', target]);
    await this.run(['-t', table, '-X', target]);
  }
}

/** The target of `-j` / `-g` in a rule's arguments. */
export function jumpTarget(args: readonly string[]): string | undefined {
  const index = args.findIndex((a) => a === '-j' || a === '-g');
  return index >= 0 ? args[index + 1] : undefined;
}

/** The value of a rule's `--comment`, if it has one. */
export function ruleComment(args: readonly string[]): string | undefined {
  const index = args.indexOf('--comment');
  return index >= 0 ? args[index + 1] : undefined;
}

/** Parses `iptables-save` output: tables, their chains, and each rule's arguments (quotes and escapes undone). */
export function parseIptablesSave(text: string): SavedTable[] {
  const tables: SavedTable[] = [];
  let current: SavedTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      current = { name: line.slice(1).trim(), chains: [], rules: [] };
      tables.push(current);
    } else if (!current || line === 'COMMIT' || line.startsWith('#') || !line.trim()) {
      continue;
    } else if (line.startsWith(':')) {
      current.chains.push(line.slice(1).split(' ')[0]);
    } else if (line.startsWith('-A ')) {
      const [, chain, ...args] = splitRuleLine(line);
      current.rules.push({ table: current.name, chain, args });
    }
  }
  return tables;
}

/** Splits a saved rule into words as iptables-restore would: double quotes group, backslash escapes. */
export function splitRuleLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (c === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (c === ' ' && !quoted) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
