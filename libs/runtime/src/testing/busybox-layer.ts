import { execFile } from 'child_process';
import { readFile } from 'fs/promises';
import { promisify } from 'util';
import type { ImageConfigSummary } from '@berth/domain';
import type { LayerEntry } from './image-builder';

const run = promisify(execFile);

export const BUSYBOX_IMAGE_CONFIG: ImageConfigSummary = {
  cmd: ['sh'],
  env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
};

const PASSWD = ['root:x:0:0:root:/root:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false', 'berth:x:1000:1000::/home/berth:/bin/sh'].join('\n');
const GROUP = ['root:x:0:', 'nogroup:x:65534:', 'berth:x:1000:'].join('\n');

/** A minimal root filesystem around a static busybox: every applet linked from /bin. */
export async function busyboxLayer(busyboxPath = '/bin/busybox'): Promise<LayerEntry[]> {
  const [binary, { stdout }] = await Promise.all([readFile(busyboxPath), run(busyboxPath, ['--list'])]);
  const applets = [...new Set(stdout.split('\n').map((a) => a.trim()))].filter((a) => a && a !== 'busybox' && !a.includes('/'));
  const dir = (path: string, mode = 0o755, owner = 0): LayerEntry => ({ path, type: 'directory', mode, uid: owner, gid: owner });
  return [
    dir('/bin'),
    dir('/dev'),
    dir('/etc'),
    dir('/home'),
    dir('/home/berth', 0o755, 1000),
    dir('/proc'),
    dir('/root', 0o700),
    dir('/sys'),
    dir('/tmp', 0o1777),
    dir('/var'),
    { path: '/bin/busybox', type: 'file', content: binary, mode: 0o755 },
    ...applets.map((applet): LayerEntry => ({ path: `/bin/${applet}`, type: 'symlink', linkname: 'busybox' })),
    { path: '/etc/passwd', type: 'file', content: `${PASSWD}\n`, mode: 0o644 },
    { path: '/etc/group', type: 'file', content: `${GROUP}\n`, mode: 0o644 },
  ];
}
