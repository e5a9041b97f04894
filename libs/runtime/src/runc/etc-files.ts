/** The /etc files every container gets from its bundle (bind-mounted read-only, as Docker does). */

export function hostsFileContent(hostname: string): string {
  return ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `127.0.0.1\t${hostname}`, ''].join('\n');
}

export function hostnameFileContent(hostname: string): string {
  return `${hostname}\n`;
}

export function resolvConfContent(): string {
  return '# Written by Berth. This container has no network yet, so it has no name servers.\n';
}
