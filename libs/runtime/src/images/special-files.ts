import { execFile } from 'child_process';
import { promisify } from 'util';
import { FailedPreconditionError } from '@berth/domain';
import { missingTool } from './image-errors';

const run = promisify(execFile);

export type NodeKind = 'character-device' | 'block-device' | 'fifo';

function isMissingBinary(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

function stderrOf(err: unknown): string {
  const stderr = (err as { stderr?: string }).stderr;
  return (stderr || (err as Error).message).trim();
}

/** Creates a device node or fifo with mknod(1); Node has no mknod(2) binding. */
export async function makeNode(file: string, kind: NodeKind, mode: number, major = 0, minor = 0): Promise<void> {
  const type = kind === 'fifo' ? ['p'] : [kind === 'character-device' ? 'c' : 'b', String(major), String(minor)];
  try {
    await run('mknod', ['-m', (mode & 0o7777).toString(8), file, ...type]);
  } catch (err) {
    if (isMissingBinary(err)) throw missingTool('mknod', 'coreutils');
    throw new FailedPreconditionError(`mknod ${file} failed: ${stderrOf(err)}`, 'MknodFailed');
  }
}

/** overlayfs represents a deleted lower file as a 0/0 character device of the same name. */
export async function makeWhiteout(file: string): Promise<void> {
  try {
    await makeNode(file, 'character-device', 0o000);
  } catch (err) {
    if (err instanceof FailedPreconditionError && err.reason === 'MknodFailed') {
      throw new FailedPreconditionError(`cannot create the overlay whiteout ${file} (root with CAP_MKNOD is needed): ${err.message}`, 'WhiteoutUnsupported');
    }
    throw err;
  }
}

/** overlayfs hides a lower directory's content below a directory carrying this xattr. */
export async function markOpaque(dir: string): Promise<void> {
  try {
    await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', dir]);
  } catch (err) {
    if (isMissingBinary(err)) throw missingTool('setfattr', 'attr');
    throw new FailedPreconditionError(`cannot mark ${dir} opaque (root is needed for trusted.* xattrs): ${stderrOf(err)}`, 'OpaqueUnsupported');
  }
}

export interface XattrTarget {
  file: string;
  /** Names must be plain (no whitespace, `=`, quotes or backslashes): they go into a dump line as they are. */
  xattrs: ReadonlyArray<readonly [name: string, value: Buffer]>;
}

/** An attribute setfattr(1) could not set: `reason` is the C locale's strerror text, e.g. "Operation not supported". */
export interface XattrFailure {
  file: string;
  reason: string;
}

const SETFATTR_FAILURE = /^setfattr: (.*): ([^:]+)$/;

/**
 * Sets extended attributes with one `setfattr --restore` process for the whole
 * batch: one process per attribute costs a few milliseconds each. `-h` acts on a
 * symlink itself, never on what it points at. setfattr goes on past an
 * attribute it cannot set and names only its file, so the failures come back
 * (one per attribute) for the caller to judge; anything else it reports is thrown.
 */
export async function setXattrs(targets: readonly XattrTarget[]): Promise<XattrFailure[]> {
  if (targets.length === 0) return [];
  let stderr: string;
  try {
    const child = run('setfattr', ['-h', '--restore=-'], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 * 1024 * 1024 });
    // A missing binary surfaces as the spawn error below, not as this pipe's.
    child.child.stdin?.on('error', () => undefined);
    child.child.stdin?.end(restoreDump(targets));
    ({ stderr } = await child);
  } catch (err) {
    if (isMissingBinary(err)) throw missingTool('setfattr', 'attr');
    stderr = (err as { stderr?: string }).stderr ?? '';
    // Only an exit status means setfattr ran to the end (not killed, not cut off at maxBuffer).
    const exited = typeof (err as { code?: unknown }).code === 'number';
    if (!exited || !stderr.trim()) throw new FailedPreconditionError(`setfattr --restore failed: ${stderrOf(err)}`, 'XattrFailed');
  }
  const failures: XattrFailure[] = [];
  for (const line of stderr.split('\n').filter((l) => l.trim() !== '')) {
    const match = SETFATTR_FAILURE.exec(line);
    if (!match) throw new FailedPreconditionError(`setfattr --restore failed: ${stderr.trim()}`, 'XattrFailed');
    failures.push({ file: unquote(match[1]), reason: match[2] });
  }
  return failures;
}

/** The format `getfattr --dump` writes: a `# file:` line, `name=value` lines, a blank line. */
function restoreDump(targets: readonly XattrTarget[]): string {
  return targets
    .map(({ file, xattrs }) => {
      const lines = xattrs.map(([name, value]) => `${name}=${value.length > 0 ? `0s${value.toString('base64')}` : '""'}\n`);
      return `# file: ${quote(file)}\n${lines.join('')}\n`;
    })
    .join('');
}

const PLAIN_BYTE = /^[\w/.,+@%~-]$/;

/** setfattr and getfattr spell a byte as `\ooo`; every byte but plain ASCII is written so. */
function quote(file: string): string {
  let quoted = '';
  for (const byte of Buffer.from(file)) {
    const char = String.fromCharCode(byte);
    quoted += PLAIN_BYTE.test(char) ? char : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return quoted;
}

function unquote(quoted: string): string {
  const bytes = quoted.replace(/\\([0-7]{3})/g, (_escape, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}
