import { chmod, chown, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedImage } from '../container-runtime';

/** The applets linked into /bin (trap, wait and exit are shell builtins). */
export const BUSYBOX_APPLETS = [
  'sh',
  'echo',
  'printf',
  'sleep',
  'id',
  'cat',
  'hostname',
  'env',
  'printenv',
  'pwd',
  'true',
  'false',
  'ls',
  'kill',
  'grep',
  'head',
  'tr',
  'seq',
  'chown',
  'touch',
  'unshare',
  'wc',
  'dd',
] as const;

export interface BusyboxLayer {
  /** The layer directory: a tiny root filesystem. */
  dir: string;
  image: ResolvedImage;
  remove(): Promise<void>;
}

/**
 * Builds a one-layer image from the host's static busybox (Debian's
 * busybox-static): /bin with applet links, /etc/passwd with root and
 * berth (1000:1000), /etc/group, /tmp, /home/berth and empty /proc, /sys, /dev.
 */
export async function makeBusyboxLayer(options: { parent?: string; busybox?: string } = {}): Promise<BusyboxLayer> {
  const dir = await mkdtemp(join(options.parent ?? tmpdir(), 'berth-busybox-'));
  await chmod(dir, 0o755);
  for (const sub of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'home/berth']) await mkdir(join(dir, sub), { recursive: true });
  await copyFile(options.busybox ?? '/bin/busybox', join(dir, 'bin/busybox'));
  await chmod(join(dir, 'bin/busybox'), 0o755);
  for (const applet of BUSYBOX_APPLETS) await symlink('busybox', join(dir, 'bin', applet));
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000::/home/berth:/bin/sh\n');
  await writeFile(join(dir, 'etc/group'), 'root:x:0:\nberth:x:1000:\n');
  await chmod(join(dir, 'tmp'), 0o1777);
  await chown(join(dir, 'home/berth'), 1000, 1000);
  return {
    dir,
    image: {
      digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000',
      config: { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], cmd: ['sh'] },
      layerDirs: [dir],
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
