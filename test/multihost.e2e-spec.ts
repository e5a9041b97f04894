import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TeamClient, admin, env, uniqueName } from './support/api-client';
import { E2E_WORKER_ENV } from './support/e2e-env';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../scripts/lib/stack.cjs') as {
  startWorker(o: { env: Record<string, string>; logFile?: string }): Promise<{ child: ChildProcess }>;
  waitForHost(url: string, token: string, name: string, child: ChildProcess): Promise<void>;
  stopProcess(child: ChildProcess): Promise<void>;
  removeLeftoverContainers(runtimeRoot: string, o?: { hostNetns?: string }): Promise<void>;
  sleep(ms: number): Promise<void>;
  hostPair(tag: string): HostPair;
};
type HostPair = { hosts: Array<{ ns: string; netns: string; link: string; address: string }>; remove(): void };

/**
 * Two more hosts on this machine, each a worker whose host side (bridges, veths,
 * iptables) lives in a network namespace of this run, the two joined by a veth
 * pair as their underlay. One network spans both through VXLAN. All traffic stays
 * in this run's namespaces.
 */
const RUN = randomBytes(2).toString('hex');
let pair: HostPair;
/** The two hosts: their names here, their namespaces and underlay addresses once beforeAll made them. */
const HOSTS = ['a', 'b'].map((h) => ({ name: `e2e-${RUN}-${h}`, ns: '', netns: '', address: '' }));
const [A, B] = HOSTS;

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const SERVE = 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && seq 1 20000 > /www/big.txt && exec httpd -f -p 8080 -h /www';

/** An HTTP GET with busybox nc from a new container on `host`: the answer's last line and nc's exit code. */
async function fetchFrom(host: string, networks: unknown[], target: string, path = '/') {
  const script = `out=$(printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${target} 8080 2>&1); rc=$?; echo "$out" | tail -n 1; echo "exit=$rc"`;
  const id = await admin.run({ image: 'busybox', host, cmd: ['sh', '-c', script], networks });
  await admin.waitContainer(id, 'exited');
  const out = (await admin.logs(id)).text;
  await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  await admin.waitContainer(id, 'removed');
  return out;
}

/** An HTTP GET with busybox nc, run in a running container: the answer's last line. */
async function fetchByExec(containerId: string, target: string): Promise<string> {
  const script = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${target} 8080 2>&1 | tail -n 1`;
  return (await admin.post(`/v1/containers/${containerId}/exec`, { cmd: ['sh', '-c', script], timeoutSec: 10 }).expect(200)).body.stdout as string;
}

async function hostsFile(containerId: string): Promise<string> {
  const res = await admin.post(`/v1/containers/${containerId}/exec`, { cmd: ['cat', '/etc/hosts'] }).expect(200);
  return res.body.stdout as string;
}

/** Polls a container's /etc/hosts until `check` holds (the sync reaches a host asynchronously); answers the last content. */
async function hostsFileUntil(containerId: string, check: (content: string) => boolean): Promise<string> {
  let content = '';
  for (let i = 0; i < 50; i++) {
    content = await hostsFile(containerId);
    if (check(content)) return content;
    await stack.sleep(200);
  }
  return content;
}

describe('a network across hosts', () => {
  const workers: ChildProcess[] = [];
  const dataDirs: string[] = [];
  const containers: string[] = [];

  /** Host i's worker, on its data dir; answers once the API has a heartbeat from it sent after the start. */
  async function startWorker(i: number): Promise<ChildProcess> {
    const h = HOSTS[i];
    const since = Date.now();
    const worker = await stack.startWorker({
      env: {
        REDIS_URL: env.redisUrl,
        BERTH_WORKER_DATA_DIR: dataDirs[i],
        BERTH_API_URL: env.url,
        BERTH_HOST_NAME: h.name,
        BERTH_HOST_NETNS: h.netns,
        BERTH_OVERLAY_ADDRESS: h.address,
        ...E2E_WORKER_ENV,
        LOG_LEVEL: 'info',
      },
      logFile: join(env.logDir, `worker-${h.name}.log`),
    });
    await stack.waitForHost(env.url, env.adminToken, h.name, worker.child);
    for (let n = 0; n < 100; n++) {
      const host = (await admin.get(`/v1/hosts/${h.name}`).expect(200)).body;
      if (Date.parse(host.lastHeartbeatAt) >= since) return worker.child;
      await stack.sleep(100);
    }
    throw new Error(`no heartbeat from ${h.name} after its start`);
  }

  beforeAll(async () => {
    pair = stack.hostPair(RUN);
    pair.hosts.forEach(({ ns, netns, address }, i) => Object.assign(HOSTS[i], { ns, netns, address }));
    for (const h of HOSTS) {
      dataDirs.push(mkdtempSync('/var/tmp/berth-e2e-host-'));
      workers.push(await startWorker(HOSTS.indexOf(h)));
      const load = await admin
        .post(`/v1/images/load?host=${h.name}`)
        .set('Content-Type', 'application/x-tar')
        .send(readFileSync(env.busyboxOciTar))
        .expect(202);
      expect((await admin.waitOperation(load.body.operation.id, 120)).status).toBe('succeeded');
    }
  });

  afterAll(async () => {
    await Promise.all(containers.map((id) => admin.delete(`/v1/containers/${id}?force=true`)));
    for (const id of containers) await admin.waitContainer(id, 'removed').catch(() => undefined);
    for (const child of workers) await stack.stopProcess(child);
    // Whatever a failed test left behind on these hosts goes too.
    for (const [i, dir] of dataDirs.entries()) await stack.removeLeftoverContainers(join(dir, 'runtime'), { hostNetns: HOSTS[i].netns });
    pair?.remove();
    // The hosts leave the pool at once, so no later test is scheduled on them.
    for (const h of HOSTS) await admin.delete(`/v1/hosts/${h.name}?force=true`);
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('shows each host’s overlay address, and places a container on the host asked for', async () => {
    const host = (await admin.get(`/v1/hosts/${A.name}`).expect(200)).body;
    expect(host.overlayAddress).toBe(A.address);
    expect((await admin.get(`/v1/hosts/${env.hostName}`).expect(200)).body.overlayAddress).toBeNull();
    expect((await admin.post('/v1/containers', { image: 'busybox', host: 'no-such-host' }).expect(404)).body.reason).toBe('HostNotFound');
    expect((await admin.post('/v1/containers', { image: 'busybox', host: 42 }).expect(400)).body.errors[0].field).toBe('host');
  });

  it('lets members on two hosts reach each other by name and alias, with full-size frames, and keeps names current', async () => {
    const net = (await admin.post('/v1/networks', { name: uniqueName('span') }).expect(201)).body;
    const serverName = uniqueName('server');
    const server = await admin.run({
      image: 'busybox',
      host: A.name,
      name: serverName,
      hostname: 'far-web',
      cmd: ['sh', '-c', SERVE],
      networks: [{ name: net.name, aliases: ['web'] }],
    });
    containers.push(server);
    await admin.waitContainer(server, 'running');
    const client = await admin.run({ image: 'busybox', host: B.name, cmd: ['sleep', '1000'], networks: [net.name] });
    containers.push(client);
    const created = (await admin.get(`/v1/containers/${server}`).expect(200)).body;
    expect(created.hostId).toBe((await admin.get(`/v1/hosts/${A.name}`).expect(200)).body.id);
    const serverIp = created.networks[0].ipAddress as string;

    // The client's host learns of the server from the control plane.
    expect(await hostsFileUntil(client, (c) => c.includes(serverName))).toContain(`${serverIp}\t${serverName} web`);
    // Host B's bridge is joined to host A's.
    expect(ip('-n', B.ns, '-br', 'link')).toContain(`bvx-${net.id.slice(-9)}`);

    expect(await fetchFrom(B.name, [net.name], serverName)).toBe('hello from far-web\nexit=0\n');
    expect(await fetchFrom(B.name, [net.name], 'web')).toContain('exit=0');
    // 100 KiB over TCP: the last line arrives only if every full-size segment before it did.
    expect(await fetchFrom(B.name, [net.name], 'web', '/big.txt')).toMatch(/^20000\nexit=0/m);

    // A container of another network on host B does not reach the server.
    const other = (await admin.post('/v1/networks', { name: uniqueName('other') }).expect(201)).body;
    expect(await fetchFrom(B.name, [other.name], serverIp)).not.toContain('exit=0');

    // A rename reaches the other host's hosts files.
    const renamed = uniqueName('renamed');
    await admin.post(`/v1/containers/${server}/rename`, { name: renamed }).expect(200);
    const afterRename = await hostsFileUntil(client, (c) => c.includes(renamed));
    expect(afterRename).toContain(`${serverIp}\t${renamed} web`);
    expect(afterRename).not.toContain(serverName);

    // When the server goes, host B forgets it and leaves host A's segment.
    await admin.delete(`/v1/containers/${server}?force=true`).expect(202);
    await admin.waitContainer(server, 'removed');
    expect(await hostsFileUntil(client, (c) => !c.includes(renamed))).not.toContain(renamed);
    for (let i = 0; i < 50 && ip('-n', B.ns, '-br', 'link').includes(`bvx-${net.id.slice(-9)}`); i++) await stack.sleep(200);
    expect(ip('-n', B.ns, '-br', 'link')).not.toContain(`bvx-${net.id.slice(-9)}`);
  });

  it('connects a running container on one host to a network whose members are on another, and disconnects it', async () => {
    const net = (await admin.post('/v1/networks', { name: uniqueName('later') }).expect(201)).body;
    const serverName = uniqueName('late-server');
    const server = await admin.run({ image: 'busybox', host: A.name, name: serverName, hostname: 'late-web', cmd: ['sh', '-c', SERVE], networks: [net.name] });
    containers.push(server);
    await admin.waitContainer(server, 'running');
    const client = await admin.run({ image: 'busybox', host: B.name, cmd: ['sleep', '1000'], networkMode: 'none' });
    containers.push(client);
    // networkMode none cannot join networks; a bridged client on another network can.
    expect((await admin.post(`/v1/networks/${net.id}/connect`, { container: client }).expect(409)).body.reason).toBe('NotBridged');
    const other = (await admin.post('/v1/networks', { name: uniqueName('elsewhere') }).expect(201)).body;
    const bridged = await admin.run({ image: 'busybox', host: B.name, cmd: ['sleep', '1000'], networks: [other.name] });
    containers.push(bridged);
    const joined = await admin.post(`/v1/networks/${net.id}/connect`, { container: bridged }).expect(202);
    expect((await admin.waitOperation(joined.body.operation.id)).status).toBe('succeeded');
    await hostsFileUntil(bridged, (c) => c.includes(serverName));
    expect(await fetchByExec(bridged, serverName)).toBe('hello from late-web\n');
    expect(await fetchByExec(client, serverName)).not.toContain('hello');

    const left = await admin.post(`/v1/networks/${net.id}/disconnect`, { container: bridged }).expect(202);
    expect((await admin.waitOperation(left.body.operation.id)).status).toBe('succeeded');
    expect(await hostsFile(bridged)).not.toContain(serverName);
    expect(await fetchByExec(bridged, serverName)).not.toContain('hello');
    // Host B has no member of the network left: its bridge and VXLAN link are gone.
    expect(ip('-n', B.ns, '-br', 'link')).not.toContain(`berth-${net.id.slice(-9)}`);
    expect(ip('-n', B.ns, '-br', 'link')).not.toContain(`bvx-${net.id.slice(-9)}`);
    for (const id of [server, client, bridged]) await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
    for (const id of [server, client, bridged]) await admin.waitContainer(id, 'removed');
  });

  it('keeps members reaching each other across a restart of a worker, leaving its network as it was', async () => {
    const net = (await admin.post('/v1/networks', { name: uniqueName('lasting') }).expect(201)).body;
    const serverName = uniqueName('steady');
    const server = await admin.run({
      image: 'busybox',
      host: A.name,
      name: serverName,
      hostname: 'steady-web',
      cmd: ['sh', '-c', SERVE],
      networks: [net.name],
    });
    containers.push(server);
    await admin.waitContainer(server, 'running');
    const client = await admin.run({ image: 'busybox', host: B.name, cmd: ['sleep', '1000'], networks: [net.name] });
    containers.push(client);
    await hostsFileUntil(client, (c) => c.includes(serverName));
    expect(await fetchByExec(client, serverName)).toBe('hello from steady-web\n');
    const linksBefore = ip('-n', B.ns, '-br', 'link')
      .split('\n')
      .map((l) => l.split(/\s+/)[0])
      .filter((n) => n.startsWith('b'))
      .sort();

    await stack.stopProcess(workers[1]);
    workers[1] = await startWorker(1);

    // The restarted worker kept the client's namespace, its bridge and the VXLAN link, and made nothing new.
    const linksAfter = ip('-n', B.ns, '-br', 'link')
      .split('\n')
      .map((l) => l.split(/\s+/)[0])
      .filter((n) => n.startsWith('b'))
      .sort();
    expect(linksAfter).toEqual(linksBefore);
    expect(linksAfter).toContain(`bvx-${net.id.slice(-9)}`);
    expect(await fetchByExec(client, serverName)).toBe('hello from steady-web\n');
    expect(await fetchFrom(B.name, [net.name], serverName)).toBe('hello from steady-web\nexit=0\n');
    for (const id of [server, client]) await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
    for (const id of [server, client]) await admin.waitContainer(id, 'removed');
  });

  it('refuses to forget a host that still has containers, or that is ready, and only for admins', async () => {
    const id = await admin.run({ image: 'busybox', host: A.name, cmd: ['sleep', '1000'], networkMode: 'none' });
    containers.push(id);
    expect((await admin.delete(`/v1/hosts/${A.name}?force=true`).expect(409)).body.reason).toBe('HostInUse');
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
    await admin.waitContainer(id, 'removed');
    expect((await admin.delete(`/v1/hosts/${A.name}`).expect(409)).body.reason).toBe('HostReady');
    expect((await admin.delete(`/v1/hosts/${A.name}?force=maybe`).expect(400)).body.errors[0].field).toBe('force');
    const team = await admin.post('/v1/teams', { name: uniqueName('hosts').toLowerCase() }).expect(201);
    expect((await new TeamClient(team.body.token).delete(`/v1/hosts/${A.name}?force=true`).expect(403)).body.reason).toBe('AdminOnly');
  });
});
