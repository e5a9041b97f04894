import { InvalidArgumentError } from '@berth/domain';
import type { ContainerSecurity } from '@berth/domain';

/** Capabilities as Docker computes them: its default set, `--cap-add`/`--cap-drop` with `ALL`, privileged. */

/** Docker's default capability set, in Docker's order. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
] as const;

/** Every capability Linux knows (0 to 40), in number order. */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

const KNOWN = new Set<string>(ALL_CAPABILITIES);
const ALL = 'ALL';

/** `net_admin`, `NET_ADMIN` or `CAP_NET_ADMIN` → `CAP_NET_ADMIN`; `all` → `ALL`; unknown → InvalidArgument. */
export function normalizeCapability(name: string, field: string): string {
  const upper = String(name).trim().toUpperCase();
  if (upper === ALL || upper === 'CAP_ALL') return ALL;
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!KNOWN.has(full)) {
    throw new InvalidArgumentError(`unknown capability ${JSON.stringify(name)}`, [{ field, message: `unknown capability ${name}` }], 'UnknownCapability');
  }
  return full;
}

/**
 * moby's TweakCapabilities: privileged gets every capability; `ALL` in add means
 * every capability but the dropped ones; `ALL` in drop means only the added ones;
 * otherwise the defaults, minus the dropped, plus the added.
 */
export function containerCapabilities(security: ContainerSecurity | undefined): string[] {
  const add = (security?.capAdd ?? []).map((c) => normalizeCapability(c, 'security.capAdd'));
  const drop = (security?.capDrop ?? []).map((c) => normalizeCapability(c, 'security.capDrop'));
  if (security?.privileged) return [...ALL_CAPABILITIES];
  let caps: string[];
  if (add.includes(ALL)) caps = ALL_CAPABILITIES.filter((c) => !drop.includes(c));
  else if (drop.includes(ALL)) caps = add;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
  return [...new Set(caps.filter((c) => c !== ALL))];
}
