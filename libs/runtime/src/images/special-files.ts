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
