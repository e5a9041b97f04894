import type { HostMount } from './container-runtime';

/** The container's mounts: Docker's defaults, the /etc files from the host, then the caller's. */

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** Host files bind-mounted read-only over the container's /etc entries. */
export interface EtcFileSources {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export function defaultMounts(options: { shmSizeBytes: number; privileged: boolean }): OciMount[] {
  const sysAccess = options.privileged ? 'rw' : 'ro';
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${options.shmSizeBytes}`] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', sysAccess] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', sysAccess] },
  ];
}

export function etcMounts(files: EtcFileSources | undefined): OciMount[] {
  if (!files) return [];
  const bind = (destination: string, source: string): OciMount => ({
    destination,
    type: 'bind',
    source,
    options: ['rbind', 'rprivate', 'ro'],
  });
  return [bind('/etc/hosts', files.hosts), bind('/etc/hostname', files.hostname), bind('/etc/resolv.conf', files.resolvConf)];
}

/**
 * The caller's mounts, after the defaults so that they win where they overlap:
 * binds (recursive, private, never setuid or device files), tmpfs as Docker makes
 * them (noexec, nosuid, nodev, sticky and world-writable).
 */
export function userMounts(mounts: HostMount[] | undefined): OciMount[] {
  return (mounts ?? []).map((m) =>
    m.type === 'tmpfs'
      ? {
          destination: m.destination,
          type: 'tmpfs',
          source: 'tmpfs',
          options: ['nosuid', 'noexec', 'nodev', 'mode=1777', ...(m.sizeBytes ? [`size=${m.sizeBytes}`] : []), m.readOnly ? 'ro' : 'rw'],
        }
      : { destination: m.destination, type: 'bind', source: m.source!, options: ['rbind', 'rprivate', 'nosuid', 'nodev', m.readOnly ? 'ro' : 'rw'] },
  );
}
