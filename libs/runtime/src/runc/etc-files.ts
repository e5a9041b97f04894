/** The /etc files every container gets from its bundle (bind-mounted read-only, as Docker does); /etc/hosts is network/hosts-file's. */

export function hostnameFileContent(hostname: string): string {
  return `${hostname}\n`;
}

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** The nameserver, search (or domain) and options lines of a resolv.conf; anything else is left out. */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const [key, ...values] = raw
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (key === 'nameserver' && values[0]) out.nameservers.push(values[0]);
    else if (key === 'search' || key === 'domain') out.search = values;
    else if (key === 'options') out.options.push(...values);
  }
  return out;
}

const LOOPBACK = /^(127\.|::1$|0:0:0:0:0:0:0:1$)/;

/**
 * A container's /etc/resolv.conf, as Docker makes it. With the host's network it is
 * the host's own. On Berth's (IPv4) networks the host's name servers that a
 * container cannot reach are left out: loopback ones (a local stub such as
 * systemd-resolved's 127.0.0.53: its upstream file is read instead when the host
 * has one) and IPv6 ones. `dns` replaces whichever parts it gives. Without a
 * network there is nothing to ask.
 */
export function resolvConfContent(options: {
  networkMode: 'bridge' | 'none' | 'host';
  host?: ResolvConf;
  upstream?: ResolvConf;
  dns?: { servers?: string[]; search?: string[]; options?: string[] };
}): string {
  const { networkMode, dns } = options;
  if (networkMode === 'none') return '# Written by Berth. This container has no network, so it has no name servers.\n';
  const host = options.host ?? { nameservers: [], search: [], options: [] };
  let base = host;
  if (networkMode === 'bridge') {
    const reachable = (conf: ResolvConf) => conf.nameservers.filter((n) => !LOOPBACK.test(n) && !n.includes(':'));
    // A host whose only name server is a local stub: its upstream servers are the ones to give.
    const source = !reachable(host).length && options.upstream && reachable(options.upstream).length ? options.upstream : host;
    base = { ...source, nameservers: reachable(source) };
  }
  const conf = { nameservers: dns?.servers ?? base.nameservers, search: dns?.search ?? base.search, options: dns?.options ?? base.options };
  const lines = ['# Written by Berth from the host’s resolv.conf and the container’s dns settings.'];
  if (!conf.nameservers.length) lines.push('# The host has no name server a container can reach: set dns.servers on the container.');
  lines.push(...conf.nameservers.map((n) => `nameserver ${n}`));
  if (conf.search.length) lines.push(`search ${conf.search.join(' ')}`);
  if (conf.options.length) lines.push(`options ${conf.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
