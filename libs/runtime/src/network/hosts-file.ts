import { constants } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { isIpv4 } from './ipv4';

/**
 * The one module that writes a container's /etc/hosts: created with the bundle
 * (loopback and the container's hostname), rewritten in place once its networks
 * give it names and peers.
 */

/** A name (and its aliases) at one address: a container's own, or a peer's on a network it shares. */
export interface HostsEntry {
  name: string;
  aliases?: readonly string[];
  ip: string;
}

export interface HostsFileInput {
  /** The container's own names, one entry per network it is on. */
  self: readonly HostsEntry[];
  /** Other containers on the same networks. */
  peers: readonly HostsEntry[];
}

/** The loopback names a container's hosts file starts with from its creation on. */
const LOOPBACK_LINES = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];

/** The lines every container on a network gets, as Docker writes them. */
const LOCALHOST_LINES = [...LOOPBACK_LINES, 'fe00::0\tip6-localnet', 'ff00::0\tip6-mcastprefix', 'ff02::1\tip6-allnodes', 'ff02::2\tip6-allrouters'];

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;

/** The hosts file a container is created with: its hostname on loopback. */
export function hostsFileContent(hostname: string): string {
  return [...LOOPBACK_LINES, `127.0.0.1\t${hostname}`, ''].join('\n');
}

/** Writes a new container's hosts file (the bind mount's source). */
export async function createHostsFile(path: string, hostname: string): Promise<void> {
  await writeFile(path, hostsFileContent(hostname), { mode: 0o644 });
}

/**
 * A container's /etc/hosts: localhost lines first, then its own names, then its
 * peers' (sorted, so the file only changes when the names do). A name resolves to
 * the first address it appears with, so later duplicates are dropped; names that
 * are not valid host names, and addresses that are not IPv4, are left out.
 */
export function renderHostsFile(input: HostsFileInput): string {
  const taken = new Set(['localhost', 'ip6-localhost', 'ip6-loopback']);
  const line = (entry: HostsEntry): string | undefined => {
    if (!isIpv4(entry.ip)) return undefined;
    const names = [entry.name, ...(entry.aliases ?? [])].filter((name) => {
      const key = name.toLowerCase();
      if (!HOST_NAME.test(name) || taken.has(key)) return false;
      taken.add(key);
      return true;
    });
    return names.length ? `${entry.ip}\t${names.join(' ')}` : undefined;
  };
  const peers = [...input.peers].sort((a, b) => a.name.localeCompare(b.name) || a.ip.localeCompare(b.ip, 'en', { numeric: true }));
  const lines = [...LOCALHOST_LINES, ...input.self.map(line), ...peers.map(line)].filter((l): l is string => l !== undefined);
  return `${lines.join('\n')}\n`;
}

/**
 * Rewrites a hosts file in place. A container sees its /etc/hosts through a bind
 * mount of this very inode, so the file is overwritten and cut to length, never
 * replaced by a rename (which would leave the container reading the old one) and
 * never truncated first (which would show readers an empty file). The file must exist.
 */
export async function writeHostsFileInPlace(path: string, content: string): Promise<void> {
  const bytes = Buffer.from(content, 'utf8');
  // Never creates it: a container being removed must not get its file back.
  const handle = await open(path, constants.O_RDWR);
  try {
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.truncate(bytes.length);
  } finally {
    await handle.close();
  }
}
