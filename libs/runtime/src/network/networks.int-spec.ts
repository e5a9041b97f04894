import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '@berth/domain';
import { pollUntil } from '../shared/poll';
import { BUSYBOX, inNetns, run, sh } from '../testing/netns-shell';
import type { Endpoint, PortMapping } from './endpoint';
import { hostVethName, netnsName } from './network-names';
import { HostNetworks } from './networks';

/**
 * Real namespaces, bridges, plugins and traffic (root needed). Everything made here
 * is named berth-t<run>…, uses 10.213.x.0/24 subnets free on this host, and goes in
 * afterAll even when a test fails. Traffic stays between this run's namespaces and
 * the host's own addresses on this run's bridges or 127.0.0.1.
 */

jest.setTimeout(60_000);

const RUN = randomBytes(2).toString('hex');
const TOKEN = `berth-network-test-${RUN}`;

const fetchFrom = (containerId: string, url: string, timeoutMs = 3_000) => inNetns(containerId, ['wget', '-q', '-O-', url], timeoutMs);

function hostGet(url: string, timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get(url, { timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

async function freeThirdOctets(count: number): Promise<number[]> {
  const routes = await sh('/usr/sbin/ip', ['-4', 'route', 'show', 'table', 'all']);
  const start = 10 + Math.floor(Math.random() * 200);
  const out: number[] = [];
  for (let octet = start; out.length < count && octet < start + 40; octet++) {
    if (!routes.includes(`10.213.${octet}.`)) out.push(octet);
  }
  if (out.length < count) throw new Error('no free 10.213.x.0/24 subnets on this host');
  return out;
}

async function freeHostPort(networks: HostNetworks): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (await networks.isHostPortFree(port, 'tcp')) return port;
  }
  throw new Error('no free host port');
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('server has no port');
  return address.port;
}

/** What this run left on the host: links, namespaces and iptables lines naming its bridges, networks, containers or veths. */
async function leftoversOfRun(): Promise<string[]> {
  const marks = [`t${RUN}`, ...runContainers, ...runVeths()];
  const ofRun = (line: string) => marks.some((mark) => line.includes(mark));
  const lines = async (file: string, args: string[]) => (await sh(file, args)).split('\n').filter(ofRun);
  return [
    ...(await lines('/usr/sbin/ip', ['-br', 'link'])).map((l) => `link ${l}`),
    ...(await lines('/usr/sbin/ip', ['netns', 'list'])).map((n) => `netns ${n}`),
    ...(await lines('/usr/sbin/iptables-save', [])).map((r) => `iptables ${r}`),
  ];
}

/** Berth namespaces on this host that this run did not make (other workers or test runs may share the host). */
async function othersNamespaces(): Promise<string[]> {
  const names = await readdir('/var/run/netns').catch(() => [] as string[]);
  return names.filter((name) => name.startsWith('berth-') && !runContainers.some((id) => name === netnsName(id)));
}

/** Once nothing else Berth runs here, no Berth rule or chain and no per-container CNI chain may be left. */
async function expectHostClean(): Promise<void> {
  expect(await leftoversOfRun()).toEqual([]);
  if ((await othersNamespaces()).length > 0) return;
  const saved = (await sh('/usr/sbin/iptables-save', [])).split('\n');
  expect(saved.filter((l) => /berth|^:CNI-(DN-)?[0-9a-f]{16,}/i.test(l))).toEqual([]);
}

/** A UDP datagram from a namespace (busybox nc has no UDP): node -e UDP_SEND <ip> <port> <text>. */
const UDP_SEND = `const s = require('node:dgram').createSocket('udp4');
const [ip, port, text] = process.argv.slice(1);
s.send(text, Number(port), ip, (err) => { s.close(); process.exitCode = err ? 1 : 0; });`;

const runContainers: string[] = [];
const runAttachments: { containerId: string; ifName: string }[] = [];
const runVeths = () => runAttachments.map((a) => hostVethName(a.containerId, a.ifName));
function containerId(): string {
  const id = newId('container');
  runContainers.push(id);
  return id;
}

describe('HostNetworks on a real host', () => {
  let root: string;
  let state: string;
  let www: string;
  let networks: HostNetworks;
  let netA: Endpoint;
  let netB: Endpoint;
  let netI: Endpoint;
  let netN: Endpoint;
  let ipForwardBefore: string;
  const servers: ChildProcess[] = [];
  const hostServers: Server[] = [];

  const endpoint = (net: Endpoint, host: number): Endpoint => ({ ...net, ipAddress: net.subnet.replace(/0\/24$/, String(host)) });

  async function attach(id: string, endpoints: Endpoint[], ports: PortMapping[] = [], instance = networks) {
    endpoints.forEach((_, i) => runAttachments.push({ containerId: id, ifName: `eth${i}` }));
    return instance.attach(id, endpoints, ports);
  }

  /** busybox httpd in the container's namespace, serving TOKEN on :8080, until afterAll kills it by pid. */
  async function serve(id: string): Promise<void> {
    const child = spawn('/usr/sbin/ip', ['netns', 'exec', netnsName(id), BUSYBOX, 'httpd', '-f', '-p', '8080', '-h', www], { stdio: 'ignore' });
    servers.push(child);
    const up = await pollUntil(async () => (await fetchFrom(id, 'http://127.0.0.1:8080/', 1_000)).ok, { timeoutMs: 5_000, intervalMs: 50 });
    if (!up) throw new Error(`httpd in ${id} did not come up`);
  }

  async function stopServers(): Promise<void> {
    for (const child of servers.splice(0)) {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid, 'SIGKILL');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    }
    for (const server of hostServers.splice(0)) await new Promise((resolve) => server.close(resolve));
  }

  /** Every state dir of this run: a reconcile keeping nothing removes all that their instances made. */
  const stateDirs: string[] = [];
  function instance(stateDir: string): HostNetworks {
    if (!stateDirs.includes(stateDir)) stateDirs.push(stateDir);
    return new HostNetworks({ stateDir });
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-net-int-'));
    state = join(root, 'state');
    www = join(root, 'www');
    await mkdir(www);
    await writeFile(join(www, 'index.html'), `${TOKEN}\n`);
    ipForwardBefore = (await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim();
    networks = instance(state);
    await networks.preflight();
    const [a, b, i, n] = await freeThirdOctets(4);
    const net = (suffix: string, octet: number, internal: boolean): Endpoint => ({
      networkId: `net_t${RUN}${suffix}`,
      name: `test-${suffix}`,
      bridge: `berth-t${RUN}${suffix}`,
      subnet: `10.213.${octet}.0/24`,
      gateway: `10.213.${octet}.1`,
      ipAddress: '',
      internal,
    });
    netA = net('a', a, false);
    netB = net('b', b, false);
    netI = net('i', i, true);
    netN = net('n', n, false);
  });

  afterAll(async () => {
    try {
      await stopServers();
      for (const dir of stateDirs) await instance(dir).reconcile({ containers: [], bridges: [] });
    } finally {
      // The bridge plugin turns forwarding on for the whole host; put it back as it was,
      // unless other Berth containers (another worker, another test run) are here now.
      if (ipForwardBefore && (await othersNamespaces()).length === 0) await writeFile('/proc/sys/net/ipv4/ip_forward', ipForwardBefore);
      if (root) await rm(root, { recursive: true, force: true });
    }
  });

  let c1: string;
  let c2: string;
  let c3: string;

  it('connects two containers on one network', async () => {
    c1 = containerId();
    c2 = containerId();
    const first = await attach(c1, [endpoint(netA, 2)]);
    await attach(c2, [endpoint(netA, 3)]);

    expect(first.netnsPath).toBe(`/var/run/netns/${netnsName(c1)}`);
    expect(first.interfaces).toEqual([
      expect.objectContaining({
        ifName: 'eth0',
        networkId: netA.networkId,
        bridge: netA.bridge,
        ipAddress: endpoint(netA, 2).ipAddress,
        gateway: netA.gateway,
        internal: false,
        hostVeth: hostVethName(c1, 'eth0'),
      }),
    ]);
    expect(await sh('/usr/sbin/ip', ['-n', netnsName(c1), 'route'])).toContain(`default via ${netA.gateway} dev eth0`);
    expect((await sh('/usr/sbin/ip', ['-n', netnsName(c1), '-6', 'addr', 'show', 'dev', 'eth0'])).trim()).toBe(''); // IPv4 only
    expect(await sh('/usr/sbin/ip', ['-n', netnsName(c1), '-br', 'link', 'show', 'lo'])).toMatch(/UP|UNKNOWN/);
    expect(await sh('/usr/sbin/ip', ['-br', 'link', 'show', 'master', netA.bridge])).toContain(hostVethName(c2, 'eth0'));

    await serve(c1);
    await expect(fetchFrom(c2, `http://${endpoint(netA, 2).ipAddress}:8080/`)).resolves.toEqual({ ok: true, out: `${TOKEN}\n` });
  });

  it('keeps a container on another network from reaching the first one', async () => {
    c3 = containerId();
    await attach(c3, [endpoint(netB, 2)]);
    await expect(inNetns(c3, ['ping', '-c', '1', '-W', '1', netB.gateway], 3_000)).resolves.toMatchObject({ ok: true });
    await expect(fetchFrom(c3, `http://${endpoint(netA, 2).ipAddress}:8080/`)).resolves.toMatchObject({ ok: false });
    // The host itself reaches every network.
    await expect(hostGet(`http://${endpoint(netA, 2).ipAddress}:8080/`)).resolves.toBe(`${TOKEN}\n`);
  });

  it('gives an internal network no way out, and no way to the host', async () => {
    const c4 = containerId();
    const c5 = containerId();
    await attach(c4, [endpoint(netI, 2)]);
    await attach(c5, [endpoint(netI, 3)]);
    const routes = await sh('/usr/sbin/ip', ['-n', netnsName(c4), 'route']);
    expect(routes).not.toContain('default');
    expect(routes).toContain(`${netI.subnet.replace('/24', '')}/24 dev eth0`);

    await serve(c4);
    await expect(fetchFrom(c5, `http://${endpoint(netI, 2).ipAddress}:8080/`)).resolves.toEqual({ ok: true, out: `${TOKEN}\n` });
    await expect(fetchFrom(c5, `http://${endpoint(netA, 2).ipAddress}:8080/`)).resolves.toMatchObject({ ok: false });

    // A host service on every address: a container of a routed network reaches it on its gateway…
    const hostServer = createServer((_, res) => res.end('host\n'));
    hostServers.push(hostServer);
    const port = await listen(hostServer, '0.0.0.0');
    await expect(fetchFrom(c3, `http://${netA.gateway}:${port}/`)).resolves.toEqual({ ok: true, out: 'host\n' });
    // …the internal container has no route to the host's address on another Berth bridge…
    await expect(fetchFrom(c5, `http://${netA.gateway}:${port}/`)).resolves.toMatchObject({ ok: false });
    // …and even with one forced in (root in its namespace), nothing it starts reaches the host.
    await sh('/usr/sbin/ip', ['-n', netnsName(c5), 'route', 'add', 'default', 'dev', 'eth0']);
    await expect(fetchFrom(c5, `http://${netA.gateway}:${port}/`)).resolves.toMatchObject({ ok: false });
    await expect(fetchFrom(c5, `http://${netI.gateway}:${port}/`)).resolves.toMatchObject({ ok: false });
    // The host still reaches the internal containers.
    await expect(hostGet(`http://${endpoint(netI, 2).ipAddress}:8080/`)).resolves.toBe(`${TOKEN}\n`);
  });

  it('publishes ports on the host, 127.0.0.1 included', async () => {
    const c6 = containerId();
    const loopbackPort = await freeHostPort(networks);
    const anyPort = await freeHostPort(networks);
    const result = await attach(
      c6,
      [endpoint(netA, 6)],
      [
        { hostPort: loopbackPort, containerPort: 8080, protocol: 'tcp', hostIp: '127.0.0.1' },
        { hostPort: anyPort, containerPort: 8080, protocol: 'tcp' },
      ],
    );
    expect(result.ports).toHaveLength(2);
    await serve(c6);

    await expect(hostGet(`http://127.0.0.1:${loopbackPort}/`)).resolves.toBe(`${TOKEN}\n`);
    await expect(hostGet(`http://127.0.0.1:${anyPort}/`)).resolves.toBe(`${TOKEN}\n`);
    // A published port is reachable from another network through the host's address (as with Docker).
    await expect(fetchFrom(c3, `http://${netB.gateway}:${anyPort}/`)).resolves.toEqual({ ok: true, out: `${TOKEN}\n` });
    // A container reaches itself through its own published port (hairpin).
    await expect(fetchFrom(c6, `http://${netA.gateway}:${anyPort}/`)).resolves.toEqual({ ok: true, out: `${TOKEN}\n` });

    expect(await networks.isHostPortFree(loopbackPort, 'tcp', '127.0.0.1')).toBe(false);
    expect(await networks.isHostPortFree(anyPort, 'tcp', '127.0.0.1')).toBe(false);
    expect(await networks.isHostPortFree(anyPort, 'udp')).toBe(true);
    const other = containerId();
    await expect(attach(other, [endpoint(netA, 7)], [{ hostPort: anyPort, containerPort: 80, protocol: 'tcp' }])).rejects.toMatchObject({
      errorClass: 'AlreadyExists',
      reason: 'PortInUse',
    });
    await expect(readdir('/var/run/netns')).resolves.not.toContain(netnsName(other));
  });

  it('lets a neighbour that routes through the host reach published ports only', async () => {
    // The neighbour: a namespace of this run behind a veth, routing netA's subnet through the host.
    const [octet] = await freeThirdOctets(1);
    const ns = `bnb${RUN}`;
    const [hostSide, nsSide] = [`bnh${RUN}`, `bnn${RUN}`];
    const hostAddress = `10.213.${octet}.1`;
    await sh('/usr/sbin/ip', ['netns', 'add', ns]);
    try {
      await sh('/usr/sbin/ip', ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', nsSide, 'netns', ns]);
      await sh('/usr/sbin/ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostSide]);
      await sh('/usr/sbin/ip', ['link', 'set', hostSide, 'up']);
      await sh('/usr/sbin/ip', ['-n', ns, 'addr', 'add', `10.213.${octet}.2/30`, 'dev', nsSide]);
      await sh('/usr/sbin/ip', ['-n', ns, 'link', 'set', nsSide, 'up']);
      await sh('/usr/sbin/ip', ['-n', ns, 'route', 'add', netA.subnet, 'via', hostAddress]);
      const c = containerId();
      const port = await freeHostPort(networks);
      await attach(c, [endpoint(netA, 9)], [{ hostPort: port, containerPort: 8080, protocol: 'tcp' }]);
      await serve(c);
      const fromNeighbour = async (url: string) => {
        const result = await run('/usr/sbin/ip', ['netns', 'exec', ns, BUSYBOX, 'wget', '-q', '-O-', url], 3_000).catch((err: Error) => ({
          exitCode: 1,
          stdout: err.message,
        }));
        return { ok: result.exitCode === 0, out: result.stdout };
      };
      await expect(fromNeighbour(`http://${hostAddress}:${port}/`)).resolves.toEqual({ ok: true, out: `${TOKEN}\n` });
      // The container's own address and port, not published: dropped although FORWARD's policy is ACCEPT here.
      await expect(fromNeighbour(`http://${endpoint(netA, 9).ipAddress}:8080/`)).resolves.toMatchObject({ ok: false });
      // What the container starts towards the neighbour gets its answers.
      const listener = spawn('/usr/sbin/ip', ['netns', 'exec', ns, BUSYBOX, 'httpd', '-f', '-p', '8081', '-h', www], { stdio: 'ignore' });
      servers.push(listener);
      expect(await pollUntil(async () => (await fetchFrom(c, `http://10.213.${octet}.2:8081/`, 1_000)).ok, { timeoutMs: 5_000, intervalMs: 100 })).toBe(true);
    } finally {
      await run('/usr/sbin/ip', ['netns', 'delete', ns]);
    }
  });

  it('says a port a host server listens on is not free', async () => {
    const server = createServer((_, res) => res.end());
    hostServers.push(server);
    const port = await listen(server, '127.0.0.1');
    expect(await networks.isHostPortFree(port, 'tcp', '127.0.0.1')).toBe(false);
    expect(await networks.isHostPortFree(port, 'tcp')).toBe(false);
    await new Promise((resolve) => server.close(resolve));
    expect(await networks.isHostPortFree(port, 'tcp', '127.0.0.1')).toBe(true);
  });

  it('keeps containers away from host services on 127.0.0.1 although portmap sets route_localnet', async () => {
    expect((await readFile(`/proc/sys/net/ipv4/conf/${netA.bridge}/route_localnet`, 'utf8')).trim()).toBe('1');
    const received: string[] = [];
    const socket = createSocket('udp4');
    socket.on('message', (message) => received.push(message.toString()));
    await new Promise<void>((resolve) => socket.bind(0, '0.0.0.0', resolve));
    try {
      // Root in c2's namespace sends 127.0.0.1 out through its gateway instead of its own loopback.
      const ns = netnsName(c2);
      await sh('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/sbin/sysctl', '-q', '-w', 'net.ipv4.conf.eth0.route_localnet=1']);
      await sh('/usr/sbin/ip', ['-n', ns, 'route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local']);
      await sh('/usr/sbin/ip', ['-n', ns, 'route', 'del', 'local', '127.0.0.1', 'dev', 'lo', 'table', 'local']);
      await sh('/usr/sbin/ip', ['-n', ns, 'route', 'add', '127.0.0.1/32', 'via', netA.gateway, 'dev', 'eth0']);
      const port = (socket.address() as { port: number }).port;
      const send = (to: string, text: string) => sh('/usr/sbin/ip', ['netns', 'exec', ns, process.execPath, '-e', UDP_SEND, to, String(port), text]);
      await send(netA.gateway, 'via-gateway');
      await send('127.0.0.1', 'via-loopback');
      await pollUntil(async () => received.length > 0, { timeoutMs: 2_000, intervalMs: 50 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(received).toEqual(['via-gateway']);
    } finally {
      socket.close();
    }
  });

  it('is idempotent: attaching again keeps the attachment and it passes CNI CHECK', async () => {
    const before = await networks.inspect(c1);
    const again = await networks.attach(c1, [endpoint(netA, 2)], []);
    expect(again).toEqual(before);
    await expect(networks.check(c1)).resolves.toBeUndefined();
    await expect(fetchFrom(c2, `http://${endpoint(netA, 2).ipAddress}:8080/`)).resolves.toEqual({ ok: true, out: `${TOKEN}\n` });
  });

  it('moves a container to another network when its endpoints change', async () => {
    const moved = await networks.attach(c2, [endpoint(netB, 3), endpoint(netA, 3)], []);
    expect(moved.interfaces.map((i) => [i.ifName, i.bridge])).toEqual([
      ['eth0', netB.bridge],
      ['eth1', netA.bridge],
    ]);
    runAttachments.push({ containerId: c2, ifName: 'eth1' });
    await expect(fetchFrom(c2, `http://${endpoint(netA, 2).ipAddress}:8080/`)).resolves.toMatchObject({ ok: true });
    await expect(networks.removeNetwork(netB.bridge)).rejects.toThrow(/still used/);
  });

  it('leaves nothing behind after detach and removeNetwork', async () => {
    await stopServers();
    for (const id of runContainers) await networks.detach(id);
    for (const id of runContainers) await networks.detach(id); // idempotent
    for (const net of [netA, netB, netI]) await networks.removeNetwork(net.bridge);

    await expectHostClean();
    await expect(readdir(join(state, 'attachments')).catch(() => [])).resolves.toEqual([]);
    await expect(readdir(join(state, 'networks')).catch(() => [])).resolves.toEqual([]);
    await expect(readdir(join(state, 'namespaces')).catch(() => [])).resolves.toEqual([]);
  });

  it('reconcile removes what a crashed instance left, and only what it owned', async () => {
    const crashedState = join(root, 'crashed');
    const crashed = instance(crashedState);
    const lost = containerId();
    const kept = containerId();
    const port: PortMapping = { hostPort: await freeHostPort(crashed), containerPort: 8080, protocol: 'tcp' };
    await attach(lost, [endpoint(netA, 20), endpoint(netI, 20)], [port], crashed);
    await attach(kept, [endpoint(netB, 20)], [], crashed);
    // Another worker on the same host, with its own state: the reconcile must not touch it.
    const neighbour = instance(join(root, 'neighbour'));
    const other = containerId();
    await attach(other, [endpoint(netN, 2)], [], neighbour);
    // The crashed instance is dropped without a detach; a new one takes over its state.

    const restarted = new HostNetworks({ stateDir: crashedState });
    const report = await restarted.reconcile({ containers: [kept], bridges: [netB.bridge] });
    expect(report.errors).toEqual([]);
    expect(report.containers).toEqual([lost]);
    expect(report.bridges.sort()).toEqual([netA.bridge, netI.bridge].sort());
    const left = await leftoversOfRun();
    expect(left.filter((l) => l.includes(lost) || l.includes(netA.bridge) || l.includes(netI.bridge))).toEqual([]);
    expect(left.some((l) => l.startsWith(`netns ${netnsName(kept)}`))).toBe(true);
    expect(left.some((l) => l.startsWith(`netns ${netnsName(other)}`))).toBe(true);
    expect(left.some((l) => l.startsWith(`link ${netN.bridge}`))).toBe(true);
    await expect(hostGet(`http://127.0.0.1:${port.hostPort}/`, 1_000)).rejects.toThrow();
    await expect(inNetns(other, ['ping', '-c', '1', '-W', '1', netN.gateway], 3_000)).resolves.toMatchObject({ ok: true });

    await restarted.detach(kept);
    await restarted.reconcile({ containers: [], bridges: [] });
    await neighbour.reconcile({ containers: [], bridges: [] });
    await expectHostClean();
  });
});
