import { readFile } from 'node:fs/promises';
import { InternalError, InvalidArgumentError } from '@berth/domain';
import { sleep } from '../shared/poll';
import type { ProcessRunner } from '../shared/process-runner';

/** Root filesystems as overlayfs mounts: the image's layers read-only below, a per-container upper dir above. */

export interface OverlayDirs {
  /** Image layers, bottom layer first (as ResolvedImage.layerDirs lists them). */
  layers: readonly string[];
  upper: string;
  work: string;
  target: string;
}

const MAX_MOUNT_OPTIONS = 4000;

/** `mount` arguments; lowerdir lists the top layer first, as overlayfs wants. */
export function overlayMountArgs(dirs: OverlayDirs): string[] {
  if (dirs.layers.length === 0) throw new InvalidArgumentError('an image needs at least one layer directory');
  const all = [...dirs.layers, dirs.upper, dirs.work];
  const bad = all.find((dir) => !dir.startsWith('/') || /[,:\s]/.test(dir));
  if (bad) throw new InvalidArgumentError(`layer path ${JSON.stringify(bad)} must be absolute, without ',', ':' or spaces`);
  const options = `lowerdir=${[...dirs.layers].reverse().join(':')},upperdir=${dirs.upper},workdir=${dirs.work}`;
  // The kernel takes at most one page of mount options.
  if (options.length >= MAX_MOUNT_OPTIONS) {
    throw new InvalidArgumentError(`the image has too many layers (${dirs.layers.length}) for one overlay mount`, [], 'TooManyLayers');
  }
  return ['-t', 'overlay', 'overlay', '-o', options, dirs.target];
}

export async function mountOverlay(runner: ProcessRunner, dirs: OverlayDirs): Promise<void> {
  const result = await runner.run('mount', overlayMountArgs(dirs));
  if (result.exitCode !== 0) {
    throw new InternalError(`mounting the root filesystem failed: ${result.stderr.trim() || `exit ${result.exitCode}`}`, 'MountFailed');
  }
}

/** Unmounts when mounted; retries a busy mount a few times, then detaches it lazily. */
export async function unmountIfMounted(runner: ProcessRunner, target: string): Promise<void> {
  for (let attempt = 0; attempt < 5 && (await isMountPoint(target)); attempt++) {
    const result = await runner.run('umount', attempt < 4 ? [target] : ['-l', target]);
    if (result.exitCode !== 0 && attempt < 4) await sleep(100 * (attempt + 1));
  }
  if (await isMountPoint(target)) throw new InternalError(`cannot unmount ${target}`, 'UnmountFailed');
}

export async function isMountPoint(target: string): Promise<boolean> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  return mountinfo.split('\n').some((line) => unescapeMountPath(line.split(' ')[4] ?? '') === target);
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
