import { parseResolvConf, resolvConfContent } from './etc-files';

const lines = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));

describe('a container’s resolv.conf', () => {
  const host = parseResolvConf(
    '# generated\nnameserver 10.1.1.53\nnameserver 127.0.0.1\nnameserver fd00::53\nsearch corp.example lab.example ; trailing comment\noptions ndots:2\noptions edns0\n',
  );

  it('reads name servers, search domains and options', () => {
    expect(host).toEqual({ nameservers: ['10.1.1.53', '127.0.0.1', 'fd00::53'], search: ['corp.example', 'lab.example'], options: ['ndots:2', 'edns0'] });
    expect(parseResolvConf('domain only.example\n').search).toEqual(['only.example']);
  });

  it('leaves out, on a Berth network, the host’s name servers a container cannot reach (loopback, IPv6)', () => {
    expect(lines(resolvConfContent({ networkMode: 'bridge', host }))).toEqual([
      'nameserver 10.1.1.53',
      'search corp.example lab.example',
      'options ndots:2 edns0',
    ]);
  });

  it('gives the host’s own with the host’s network', () => {
    expect(lines(resolvConfContent({ networkMode: 'host', host }))).toEqual([
      'nameserver 10.1.1.53',
      'nameserver 127.0.0.1',
      'nameserver fd00::53',
      'search corp.example lab.example',
      'options ndots:2 edns0',
    ]);
  });

  it('takes the upstream servers behind a local stub (systemd-resolved)', () => {
    const stub = parseResolvConf('nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n');
    const upstream = parseResolvConf('nameserver 192.0.2.10\nnameserver 192.0.2.11\nsearch corp.example\n');
    expect(lines(resolvConfContent({ networkMode: 'bridge', host: stub, upstream }))).toEqual([
      'nameserver 192.0.2.10',
      'nameserver 192.0.2.11',
      'search corp.example',
    ]);
  });

  it('says so when no name server is left, and lets the container’s dns settings replace each part', () => {
    const stub = parseResolvConf('nameserver 127.0.0.53\n');
    expect(resolvConfContent({ networkMode: 'bridge', host: stub })).toContain('no name server a container can reach');
    expect(lines(resolvConfContent({ networkMode: 'bridge', host, dns: { servers: ['10.9.9.9'], options: ['ndots:1'] } }))).toEqual([
      'nameserver 10.9.9.9',
      'search corp.example lab.example',
      'options ndots:1',
    ]);
  });

  it('has no name server without a network', () => {
    expect(lines(resolvConfContent({ networkMode: 'none', host, dns: { servers: ['10.9.9.9'] } }))).toEqual([]);
  });
});
