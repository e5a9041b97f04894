import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIpAddresses, parseIpLinks } from './host-links';
import { isNsMount } from './netns';

describe('ip -j parsing', () => {
  it('reads links with their kind and bridge', () => {
    const json = JSON.stringify([
      { ifindex: 1, ifname: 'lo', link_type: 'loopback' },
      { ifindex: 7, ifname: 'berth-front', linkinfo: { info_kind: 'bridge' } },
      { ifindex: 8, ifname: 'berthv0123456789', master: 'berth-front', link_netnsid: 0, linkinfo: { info_kind: 'veth' } },
    ]);
    expect(parseIpLinks(json)).toEqual([
      { name: 'lo' },
      { name: 'berth-front', kind: 'bridge' },
      { name: 'berthv0123456789', kind: 'veth', master: 'berth-front' },
    ]);
  });

  it('reads IPv4 addresses by link', () => {
    const json = JSON.stringify([
      { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
      {
        ifname: 'berth-front',
        addr_info: [
          { family: 'inet', local: '10.213.1.1', prefixlen: 24 },
          { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
        ],
      },
      { ifname: 'berth-secret' },
    ]);
    expect(parseIpAddresses(json)).toEqual(
      new Map([
        ['lo', ['127.0.0.1/8']],
        ['berth-front', ['10.213.1.1/24']],
        ['berth-secret', []],
      ]),
    );
  });
});

describe('isNsMount', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-netns-spec-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('finds a namespace mounted under /run/netns whichever way the path is spelled', async () => {
    const mountinfo = join(dir, 'mountinfo');
    await writeFile(
      mountinfo,
      [
        '25 1 0:23 / /run rw,nosuid shared:5 - tmpfs tmpfs rw',
        '42 54 0:4 net:[4026532177] /run/netns/berth-ctr_1 rw shared:2 - nsfs nsfs rw',
        '43 54 0:24 / /run/netns/berth-ctr_2 rw shared:2 - tmpfs tmpfs rw',
      ].join('\n'),
    );
    await expect(isNsMount('/var/run/netns/berth-ctr_1', mountinfo)).resolves.toBe(true);
    await expect(isNsMount('/run/netns/berth-ctr_1', mountinfo)).resolves.toBe(true);
    await expect(isNsMount('/var/run/netns/berth-ctr_2', mountinfo)).resolves.toBe(false);
    await expect(isNsMount('/var/run/netns/berth-ctr_3', mountinfo)).resolves.toBe(false);
  });
});
