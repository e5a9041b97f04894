import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '@berth/domain';
import { pollUntil } from '../shared/poll';
import { BUSYBOX, inNetns, sh } from '../testing/netns-shell';
import type { Endpoint } from './endpoint';
import { netnsName } from './network-names';
import { HostNetworks } from './networks';
import { overlayLinkName } from './overlay';

/**
 * Two hosts on one machine: each is a network namespace of this run (bhost<run>a,
 * bhost<run>b, from the scripts' hostPair) joined by a veth pair, the underlay; each has its own HostNetworks
 * whose bridges, veths and rules live in that namespace. One network spans both
 * through VXLAN. All traffic stays inside this run's namespaces.
 */

const RUN = randomBytes(2).toString('hex');

interface TestHost {
  ns: string;
  netns: string;
  link: string;
  address: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { hostPair } = require('../../../../scripts/lib/stack.cjs') as { hostPair(tag: string): { hosts: TestHost[]; remove(): void } };

describe('a network across two hosts (VXLAN)', () => {
  let root: string;
  let www: string;
  let hostA: HostNetworks;
  let hostB: HostNetworks;
  let net: Endpoint;
  let mtu: number;
  const c1 = newId('container');
  const c2 = newId('container');
  const servers: ChildProcess[] = [];
  const big = randomBytes(96 * 1024).toString('hex'); // 192 KiB: far more than one frame
  const vni = 100_000 + Math.floor(Math.random() * 100_000);
  let pair: { hosts: TestHost[]; remove(): void } | undefined;
  let A: TestHost;
  let B: TestHost;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-overlay-int-'));
    www = join(root, 'www');
    await mkdir(www);
    await writeFile(join(www, 'index.html'), `hello from ${c1}\n`);
    await writeFile(join(www, 'big.txt'), big);
    pair = hostPair(RUN);
    [A, B] = pair.hosts;
    hostA = new HostNetworks({ stateDir: join(root, 'a'), hostNetns: A.netns });
    hostB = new HostNetworks({ stateDir: join(root, 'b'), hostNetns: B.netns });
    mtu = (await hostA.overlayMtu(A.address))!;
    // The subnet only exists inside this run's host namespaces.
    net = {
      networkId: `net_t${RUN}o`,
      name: 'spanning',
      bridge: `berth-t${RUN}o`,
      subnet: '10.215.7.0/24',
      gateway: '10.215.7.1',
      ipAddress: '',
      internal: false,
      mtu,
    };
  });

  afterAll(async () => {
    for (const child of servers) if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    for (const h of [hostA, hostB]) await h?.reconcile({ containers: [], bridges: [] }).catch(() => undefined);
    pair?.remove();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("gives containers the underlay MTU less the VXLAN overhead, and finds the default route's address", async () => {
    expect(mtu).toBe(1450);
    expect(await hostA.defaultRouteAddress()).toBeUndefined();
    await sh('/usr/sbin/ip', ['-n', A.ns, 'route', 'add', 'default', 'via', B.address]);
    expect(await hostA.defaultRouteAddress()).toBe(A.address);
  });

  it('joins members on two hosts into one segment, and parts them again', async () => {
    await hostA.attach(c1, [{ ...net, ipAddress: '10.215.7.2' }]);
    await hostB.attach(c2, [{ ...net, ipAddress: '10.215.7.3' }]);
    // The bridges are in the host namespaces, not in this one.
    expect((await sh('/usr/sbin/ip', ['-n', A.ns, '-br', 'link'])).includes(net.bridge)).toBe(true);
    expect((await sh('/usr/sbin/ip', ['-br', 'link'])).includes(net.bridge)).toBe(false);

    const child = spawn('/usr/sbin/ip', ['netns', 'exec', netnsName(c1), BUSYBOX, 'httpd', '-f', '-p', '8080', '-h', www], { stdio: 'ignore' });
    servers.push(child);
    expect(await pollUntil(async () => (await inNetns(c1, ['wget', '-q', '-O-', 'http://127.0.0.1:8080/'])).ok, { timeoutMs: 5_000, intervalMs: 50 })).toBe(
      true,
    );

    // Without the overlay, the two bridges are separate segments.
    expect((await inNetns(c2, ['wget', '-q', '-O-', 'http://10.215.7.2:8080/'])).ok).toBe(false);

    expect(await hostA.setOverlay(net.bridge, { vni, localAddress: A.address, peers: [B.address] })).toBe(true);
    expect(await hostB.setOverlay(net.bridge, { vni, localAddress: B.address, peers: [A.address] })).toBe(true);
    // Applying the same spec again changes nothing.
    expect(await hostB.setOverlay(net.bridge, { vni, localAddress: B.address, peers: [A.address] })).toBe(true);

    const fetched = await inNetns(c2, ['wget', '-q', '-O-', 'http://10.215.7.2:8080/'], 5_000);
    expect(fetched.out).toContain(`hello from ${c1}`);
    // Full-size frames pass: the containers' MTU leaves room for the VXLAN header.
    const large = await inNetns(c2, ['wget', '-q', '-O-', 'http://10.215.7.2:8080/big.txt'], 10_000);
    expect(large.out.trim()).toBe(big);
    expect((await sh('/usr/sbin/ip', ['-n', netnsName(c2), '-o', 'link', 'show', 'eth0'])).includes(`mtu ${mtu}`)).toBe(true);

    // Each container's gateway is its own host's bridge: the ARP answer never came from the other host.
    const bridgeMac = (ns: string) =>
      sh('/usr/sbin/ip', ['-n', ns, '-j', 'link', 'show', net.bridge]).then((o) => (JSON.parse(o) as { address: string }[])[0].address);
    await inNetns(c2, ['ping', '-c', '1', '-W', '1', net.gateway]);
    const neighbours = await sh('/usr/sbin/ip', ['-n', netnsName(c2), 'neigh', 'show', net.gateway]);
    expect(neighbours).toContain(await bridgeMac(B.ns));
    expect(neighbours).not.toContain(await bridgeMac(A.ns));

    // A container cannot speak VXLAN to any host: its packets would leave as its host's, whom the peers trust.
    const vxlanDrops = async (chain: string) => {
      const listing = await sh('/usr/sbin/ip', ['netns', 'exec', B.ns, 'iptables', '-t', 'filter', '-L', chain, '-v', '-x', '-n']);
      const line = listing.split('\n').find((l) => l.includes('udp dpt:4789') && l.includes('DROP'));
      return Number(line?.trim().split(/\s+/)[0] ?? NaN);
    };
    const [forwardedBefore, inputBefore] = [await vxlanDrops('BERTH-ISOLATION'), await vxlanDrops('BERTH-INPUT')];
    const send = `const s = require('node:dgram').createSocket('udp4'); s.send('x', 4789, process.argv[1], () => s.close());`;
    await sh('/usr/sbin/ip', ['netns', 'exec', netnsName(c2), process.execPath, '-e', send, A.address]);
    await sh('/usr/sbin/ip', ['netns', 'exec', netnsName(c2), process.execPath, '-e', send, net.gateway]);
    expect(await vxlanDrops('BERTH-ISOLATION')).toBe(forwardedBefore + 1);
    expect(await vxlanDrops('BERTH-INPUT')).toBe(inputBefore + 1);

    // Host A lets in VXLAN from its peer only: a datagram from another address on the underlay is dropped.
    expect(await sh('/usr/sbin/ip', ['netns', 'exec', A.ns, 'iptables', '-S', 'BERTH-VXLAN'])).toBe(
      `-N BERTH-VXLAN\n-A BERTH-VXLAN -s ${B.address}/32 -j RETURN\n-A BERTH-VXLAN -j DROP\n`,
    );
    const counted = async (target: string) => {
      const listing = await sh('/usr/sbin/ip', ['netns', 'exec', A.ns, 'iptables', '-L', 'BERTH-VXLAN', '-v', '-x', '-n']);
      return Number(
        listing
          .split('\n')
          .find((l) => l.includes(` ${target} `))
          ?.trim()
          .split(/\s+/)[0] ?? NaN,
      );
    };
    const [returnedBefore, droppedBefore] = [await counted('RETURN'), await counted('DROP')];
    await sh('/usr/sbin/ip', ['-n', B.ns, 'addr', 'add', '10.214.0.9/24', 'dev', B.link]);
    const sendFrom = `const s = require('node:dgram').createSocket('udp4'); s.bind(0, process.argv[1], () => s.send('x', 4789, process.argv[2], () => s.close()));`;
    await sh('/usr/sbin/ip', ['netns', 'exec', B.ns, process.execPath, '-e', sendFrom, '10.214.0.9', A.address]);
    await sh('/usr/sbin/ip', ['netns', 'exec', B.ns, process.execPath, '-e', sendFrom, B.address, A.address]);
    expect(await counted('DROP')).toBe(droppedBefore + 1);
    expect(await counted('RETURN')).toBeGreaterThanOrEqual(returnedBefore + 1);

    // Without peers the link goes, and the segments are apart again.
    expect(await hostB.setOverlay(net.bridge, { vni, localAddress: B.address, peers: [] })).toBe(false);
    expect((await sh('/usr/sbin/ip', ['-n', B.ns, '-br', 'link'])).includes(overlayLinkName(net.bridge))).toBe(false);
    // With no link left, host B has no business with VXLAN: the chain is gone.
    expect(await sh('/usr/sbin/ip', ['netns', 'exec', B.ns, 'iptables-save', '-t', 'filter'])).not.toContain('BERTH-VXLAN');
    await sh('/usr/sbin/ip', ['-n', netnsName(c2), 'neigh', 'flush', 'all']);
    expect((await inNetns(c2, ['wget', '-q', '-O-', 'http://10.215.7.2:8080/'])).ok).toBe(false);
  });

  it('removes the VXLAN link with the bridge', async () => {
    await hostB.setOverlay(net.bridge, { vni, localAddress: B.address, peers: [A.address] });
    await hostB.detach(c2);
    await hostB.removeNetwork(net.bridge);
    const links = await sh('/usr/sbin/ip', ['-n', B.ns, '-br', 'link']);
    expect(links.includes(net.bridge)).toBe(false);
    expect(links.includes(overlayLinkName(net.bridge))).toBe(false);
  });

  it('answers false, making nothing, for a bridge the host does not have', async () => {
    expect(await hostB.setOverlay(net.bridge, { vni, localAddress: B.address, peers: [A.address] })).toBe(false);
    expect((await sh('/usr/sbin/ip', ['-n', B.ns, '-br', 'link'])).includes(overlayLinkName(net.bridge))).toBe(false);
  });
});
