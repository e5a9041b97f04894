import { readdir, readFile } from 'node:fs/promises';
import { InternalError } from '@berth/domain';
import { execFileRunner, type ProcessRunner } from '../shared/process-runner';
import { NETNS_DIR, NETNS_PREFIX, netnsName, netnsPath } from './network-names';

export interface NetworkNamespacesOptions {
  runner?: ProcessRunner;
  ipPath?: string;
  sysctlPath?: string;
  timeoutMs?: number;
}

/**
 * Containers' persistent named network namespaces (`ip netns`), one per container:
 * berth-<container id> under /var/run/netns. A named namespace outlives the
 * container's processes and the worker, so plugins can DEL from it after a restart,
 * and runc joins it by path (the OCI spec's network namespace entry).
 */
export class NetworkNamespaces {
  private readonly runner: ProcessRunner;
  private readonly ipPath: string;
  private readonly sysctlPath: string;
  private readonly timeoutMs: number;

  constructor(options: NetworkNamespacesOptions = {}) {
    this.runner = options.runner ?? execFileRunner;
    this.ipPath = options.ipPath ?? '/usr/sbin/ip';
    this.sysctlPath = options.sysctlPath ?? '/usr/sbin/sysctl';
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /**
   * Creates the container's namespace unless it exists, with `lo` up and IPv6 off
   * on every interface made in it later (Berth networks are IPv4 only; Docker does
   * the same for networks without IPv6). Returns its path. Idempotent.
   */
  async ensure(containerId: string): Promise<string> {
    const name = netnsName(containerId);
    const path = netnsPath(containerId);
    if (!(await isNsMount(path))) {
      // A name without a mounted namespace behind it is a half-made one: start over.
      if ((await this.list()).includes(name)) await this.ip(['netns', 'delete', name], true);
      await this.ip(['netns', 'add', name]);
    }
    await this.ip(['-n', name, 'link', 'set', 'lo', 'up']);
    await this.ip(['netns', 'exec', name, this.sysctlPath, '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1']);
    return path;
  }

  /** Deletes the namespace's name; its network goes when the last process in it has exited. Idempotent. */
  async remove(containerId: string): Promise<void> {
    await this.removeByName(netnsName(containerId));
  }

  async removeByName(name: string): Promise<void> {
    if (!name.startsWith(NETNS_PREFIX) || name.includes('/')) throw new InternalError(`not a Berth namespace: ${name}`, 'NotBerthNetns');
    if (!(await this.list()).includes(name)) return;
    await this.ip(['netns', 'delete', name], true);
  }

  async exists(containerId: string): Promise<boolean> {
    return isNsMount(netnsPath(containerId));
  }

  /** Names of every Berth namespace on the host (berth-…), sorted. */
  async list(): Promise<string[]> {
    const names = await readdir(NETNS_DIR).catch(() => [] as string[]);
    return names.filter((n) => n.startsWith(NETNS_PREFIX)).sort();
  }

  private async ip(args: string[], missingIsFine = false): Promise<string> {
    const result = await this.runner.run(this.ipPath, args, { timeoutMs: this.timeoutMs });
    if (result.exitCode === 0) return result.stdout;
    if (missingIsFine && /No such file|does not exist|not found/i.test(result.stderr)) return '';
    throw new InternalError(`ip ${args.join(' ')} failed (exit ${result.exitCode}): ${result.stderr.trim()}`, 'NetnsFailed');
  }
}

/** Whether a namespace (nsfs) is mounted at `path`, as `ip netns add` leaves it. */
export async function isNsMount(path: string, mountinfoPath = '/proc/self/mountinfo'): Promise<boolean> {
  const mountinfo = await readFile(mountinfoPath, 'utf8');
  const alternatives = new Set([path, path.replace(/^\/var\/run\//, '/run/')]);
  return mountinfo.split('\n').some((line) => {
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    return alternatives.has(unescapeMountPath(fields[4] ?? '')) && fields[separator + 1] === 'nsfs';
  });
}

function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * A runner whose programs run in another network namespace (`nsenter --net=<path>`),
 * for a worker whose hosts-side networking lives in a namespace of its own.
 */
export function runnerInNetns(runner: ProcessRunner, netns: string, nsenterPath = '/usr/bin/nsenter'): ProcessRunner {
  return { run: (file, args, options) => runner.run(nsenterPath, [`--net=${netns}`, '--', file, ...args], options) };
}
