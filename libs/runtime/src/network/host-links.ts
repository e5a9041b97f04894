import { InternalError } from '@berth/domain';
import { execFileRunner, type ProcessRunner } from '../shared/process-runner';

export interface HostLink {
  name: string;
  /** `bridge`, `veth`, … (the driver), when the kernel reports one. */
  kind?: string;
  /** The bridge this link is a port of. */
  master?: string;
}

export interface HostLinksOptions {
  runner?: ProcessRunner;
  ipPath?: string;
  timeoutMs?: number;
}

/** The host's network links, through `ip -j`. */
export class HostLinks {
  private readonly runner: ProcessRunner;
  private readonly ipPath: string;
  private readonly timeoutMs: number;

  constructor(options: HostLinksOptions = {}) {
    this.runner = options.runner ?? execFileRunner;
    this.ipPath = options.ipPath ?? '/usr/sbin/ip';
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async list(): Promise<HostLink[]> {
    return parseIpLinks(await this.ip(['-j', '-d', 'link', 'show']));
  }

  async get(name: string): Promise<HostLink | undefined> {
    return (await this.list()).find((l) => l.name === name);
  }

  /** The IPv4 addresses (`a.b.c.d/len`) of every link, by link name. */
  async ipv4Addresses(): Promise<Map<string, string[]>> {
    return parseIpAddresses(await this.ip(['-j', '-4', 'addr', 'show']));
  }

  /** The link that holds this IPv4 address, with its MTU, if any does. */
  async holding(address: string): Promise<{ name: string; mtu?: number } | undefined> {
    const raw = JSON.parse((await this.ip(['-j', '-4', 'addr', 'show'])) || '[]') as { ifname: string; mtu?: number; addr_info?: { local?: string }[] }[];
    const link = raw.find((l) => (l.addr_info ?? []).some((a) => a.local === address));
    return link && { name: link.ifname, mtu: link.mtu };
  }

  /** The IPv4 address of the link the default route leaves by (its preferred source when it names one). */
  async defaultRouteAddress(): Promise<string | undefined> {
    const routes = JSON.parse((await this.ip(['-j', '-4', 'route', 'show', 'default'])) || '[]') as { dev?: string; prefsrc?: string }[];
    const route = routes.find((r) => r.dev);
    if (!route) return undefined;
    if (route.prefsrc) return route.prefsrc;
    return (await this.ipv4Addresses()).get(route.dev!)?.[0]?.split('/')[0];
  }

  /** Deletes a link; one already gone is fine. Answers whether there was one to delete. */
  async delete(name: string): Promise<boolean> {
    const result = await this.runner.run(this.ipPath, ['link', 'delete', name], { timeoutMs: this.timeoutMs });
    if (result.exitCode === 0) return true;
    if (!/Cannot find device|does not exist/i.test(result.stderr)) {
      throw new InternalError(`ip link delete ${name} failed: ${result.stderr.trim()}`, 'LinkDeleteFailed');
    }
    return false;
  }

  /** Renames a link; the kernel only renames links that are down, so it is taken down and brought back up. */
  async rename(from: string, to: string): Promise<void> {
    await this.ip(['link', 'set', 'dev', from, 'down']);
    await this.ip(['link', 'set', 'dev', from, 'name', to]);
    await this.ip(['link', 'set', 'dev', to, 'up']);
  }

  private async ip(args: string[]): Promise<string> {
    const result = await this.runner.run(this.ipPath, args, { timeoutMs: this.timeoutMs });
    if (result.exitCode !== 0) throw new InternalError(`ip ${args.join(' ')} failed (exit ${result.exitCode}): ${result.stderr.trim()}`, 'IpFailed');
    return result.stdout;
  }
}

export function parseIpLinks(json: string): HostLink[] {
  const raw = JSON.parse(json || '[]') as { ifname: string; master?: string; linkinfo?: { info_kind?: string } }[];
  return raw.map((l) => ({
    name: l.ifname,
    ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}),
    ...(l.master ? { master: l.master } : {}),
  }));
}

export function parseIpAddresses(json: string): Map<string, string[]> {
  const raw = JSON.parse(json || '[]') as { ifname: string; addr_info?: { family?: string; local?: string; prefixlen?: number }[] }[];
  return new Map(raw.map((l) => [l.ifname, (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.local).map((a) => `${a.local}/${a.prefixlen}`)]));
}
