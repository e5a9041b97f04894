import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  BerthProblem,
  type CreateContainerRequest,
  connectContainer,
  createContainer,
  createNetwork,
  createTeam,
  deleteContainer,
  deleteHost,
  disconnectContainer,
  execInContainer,
  getContainer,
  getHost,
  loadImage,
  renameContainer,
} from '@berth/sdk';
import { env, uniqueName } from './support/api-client';
import { E2E_WORKER_ENV } from './support/e2e-env';
import { adminSdk, finished, logText, problemOf, runContainer, sdkClient, waitForContainer } from './support/sdk';

const admin = adminSdk();

/** Creates a network (201) and answers it. */
async function newNetwork(name: string) {
  const res = await createNetwork({ client: admin, body: { name } });
  expect(res.response.status).toBe(201);
  return res.data;
}

/** Force-deletes a container (202). */
async function forceDelete(id: string) {
  expect((await deleteContainer({ client: admin, path: { id }, query: { force: true } })).response.status).toBe(202);
}

/** Runs a command in a running container (200) and answers its stdout. */
async function execOut(id: string, body: { cmd: string[]; timeoutSec?: number }) {
  const res = await execInContainer({ client: admin, path: { id }, body });
  expect(res.response.status).toBe(200);
  return res.data.stdout;
}

/** A call whose error answer does not matter here (an answer the document does not describe still fails). */
async function tolerating(call: Promise<unknown>): Promise<void> {
  await call.catch((e: unknown) => {
    if (!(e instanceof BerthProblem)) throw e;
  });
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../scripts/lib/stack.cjs') as {
  startWorker(o: { env: Record<string, string>; logFile?: string }): Promise<{ child: ChildProcess }>;
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
async function fetchFrom(host: string, networks: NonNullable<CreateContainerRequest['networks']>, target: string, path = '/') {
  const script = `out=$(printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${target} 8080 2>&1); rc=$?; echo "$out" | tail -n 1; echo "exit=$rc"`;
  const { id } = await runContainer(admin, { image: 'busybox', host, cmd: ['sh', '-c', script], networks });
  await waitForContainer(admin, id, 'exited');
  const out = await logText(admin, id);
  await forceDelete(id);
  await waitForContainer(admin, id, 'removed');
  return out;
}

/** An HTTP GET with busybox nc, run in a running container: the answer's last line. */
async function fetchByExec(containerId: string, target: string): Promise<string> {
  const script = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${target} 8080 2>&1 | tail -n 1`;
  return execOut(containerId, { cmd: ['sh', '-c', script], timeoutSec: 10 });
}

async function hostsFile(containerId: string): Promise<string> {
  return execOut(containerId, { cmd: ['cat', '/etc/hosts'] });
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

/** Polls a host until it is ready (not found until its worker registers it); fails when the worker exits first. */
async function untilReady(name: string, child: ChildProcess, timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`host ${name}: the process exited with code ${child.exitCode}`);
    const host = await getHost({ client: admin, path: { id: name } }).catch((e: unknown) => {
      if (e instanceof BerthProblem) return undefined;
      throw e;
    });
    if (host?.data.status === 'ready') return;
    await stack.sleep(100);
  }
  throw new Error(`host ${name}: not ready after ${timeoutMs} ms`);
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
    await untilReady(h.name, worker.child);
    for (let n = 0; n < 100; n++) {
      const host = (await getHost({ client: admin, path: { id: h.name } })).data;
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
      const load = await loadImage({
        client: admin,
        query: { host: h.name },
        body: new Blob([readFileSync(env.busyboxOciTar)]),
        headers: { 'Content-Type': 'application/x-tar' },
      });
      expect(load.response.status).toBe(202);
      expect((await finished(admin, load.data.operation.id, 120)).status).toBe('succeeded');
    }
  });

  afterAll(async () => {
    await Promise.all(containers.map((id) => tolerating(deleteContainer({ client: admin, path: { id }, query: { force: true } }))));
    for (const id of containers) await waitForContainer(admin, id, 'removed').catch(() => undefined);
    for (const child of workers) await stack.stopProcess(child);
    // Whatever a failed test left behind on these hosts goes too.
    for (const [i, dir] of dataDirs.entries()) await stack.removeLeftoverContainers(join(dir, 'runtime'), { hostNetns: HOSTS[i].netns });
    pair?.remove();
    // The hosts leave the pool at once, so no later test is scheduled on them.
    for (const h of HOSTS) await tolerating(deleteHost({ client: admin, path: { id: h.name }, query: { force: true } }));
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('shows each host’s overlay address, and places a container on the host asked for', async () => {
    const host = (await getHost({ client: admin, path: { id: A.name } })).data;
    expect(host.overlayAddress).toBe(A.address);
    expect((await getHost({ client: admin, path: { id: env.hostName } })).data.overlayAddress).toBeNull();
    expect(await problemOf(createContainer({ client: admin, body: { image: 'busybox', host: 'no-such-host' } }))).toMatchObject({
      status: 404,
      reason: 'HostNotFound',
    });
    // A number where the document says string, on purpose: the SDK sends it as it is.
    const notAName = await problemOf(createContainer({ client: admin, body: { image: 'busybox', host: 42 as unknown as string } }));
    expect(notAName.status).toBe(400);
    expect(notAName.errors[0].field).toBe('host');
  });

  it('lets members on two hosts reach each other by name and alias, with full-size frames, and keeps names current', async () => {
    const net = await newNetwork(uniqueName('span'));
    const serverName = uniqueName('server');
    const { id: server } = await runContainer(admin, {
      image: 'busybox',
      host: A.name,
      name: serverName,
      hostname: 'far-web',
      cmd: ['sh', '-c', SERVE],
      networks: [{ name: net.name, aliases: ['web'] }],
    });
    containers.push(server);
    await waitForContainer(admin, server, 'running');
    const { id: client } = await runContainer(admin, { image: 'busybox', host: B.name, cmd: ['sleep', '1000'], networks: [net.name] });
    containers.push(client);
    const created = (await getContainer({ client: admin, path: { id: server } })).data;
    expect(created.hostId).toBe((await getHost({ client: admin, path: { id: A.name } })).data.id);
    const serverIp = created.networks[0].ipAddress;

    // The client's host learns of the server from the control plane.
    expect(await hostsFileUntil(client, (c) => c.includes(serverName))).toContain(`${serverIp}\t${serverName} web`);
    // Host B's bridge is joined to host A's.
    expect(ip('-n', B.ns, '-br', 'link')).toContain(`bvx-${net.id.slice(-9)}`);

    expect(await fetchFrom(B.name, [net.name], serverName)).toBe('hello from far-web\nexit=0\n');
    expect(await fetchFrom(B.name, [net.name], 'web')).toContain('exit=0');
    // 100 KiB over TCP: the last line arrives only if every full-size segment before it did.
    expect(await fetchFrom(B.name, [net.name], 'web', '/big.txt')).toMatch(/^20000\nexit=0/m);

    // A container of another network on host B does not reach the server.
    const other = await newNetwork(uniqueName('other'));
    expect(await fetchFrom(B.name, [other.name], serverIp)).not.toContain('exit=0');

    // A rename reaches the other host's hosts files.
    const renamed = uniqueName('renamed');
    expect((await renameContainer({ client: admin, path: { id: server }, body: { name: renamed } })).response.status).toBe(200);
    const afterRename = await hostsFileUntil(client, (c) => c.includes(renamed));
    expect(afterRename).toContain(`${serverIp}\t${renamed} web`);
    expect(afterRename).not.toContain(serverName);

    // When the server goes, host B forgets it and leaves host A's segment.
    await forceDelete(server);
    await waitForContainer(admin, server, 'removed');
    expect(await hostsFileUntil(client, (c) => !c.includes(renamed))).not.toContain(renamed);
    for (let i = 0; i < 50 && ip('-n', B.ns, '-br', 'link').includes(`bvx-${net.id.slice(-9)}`); i++) await stack.sleep(200);
    expect(ip('-n', B.ns, '-br', 'link')).not.toContain(`bvx-${net.id.slice(-9)}`);
  });

  it('connects a running container on one host to a network whose members are on another, and disconnects it', async () => {
    const net = await newNetwork(uniqueName('later'));
    const serverName = uniqueName('late-server');
    const { id: server } = await runContainer(admin, {
      image: 'busybox',
      host: A.name,
      name: serverName,
      hostname: 'late-web',
      cmd: ['sh', '-c', SERVE],
      networks: [net.name],
    });
    containers.push(server);
    await waitForContainer(admin, server, 'running');
    const { id: client } = await runContainer(admin, { image: 'busybox', host: B.name, cmd: ['sleep', '1000'], networkMode: 'none' });
    containers.push(client);
    // networkMode none cannot join networks; a bridged client on another network can.
    expect(await problemOf(connectContainer({ client: admin, path: { id: net.id }, body: { container: client } }))).toMatchObject({
      status: 409,
      reason: 'NotBridged',
    });
    const other = await newNetwork(uniqueName('elsewhere'));
    const { id: bridged } = await runContainer(admin, { image: 'busybox', host: B.name, cmd: ['sleep', '1000'], networks: [other.name] });
    containers.push(bridged);
    const joined = await connectContainer({ client: admin, path: { id: net.id }, body: { container: bridged } });
    expect(joined.response.status).toBe(202);
    expect((await finished(admin, joined.data.operation.id)).status).toBe('succeeded');
    await hostsFileUntil(bridged, (c) => c.includes(serverName));
    expect(await fetchByExec(bridged, serverName)).toBe('hello from late-web\n');
    expect(await fetchByExec(client, serverName)).not.toContain('hello');

    const left = await disconnectContainer({ client: admin, path: { id: net.id }, body: { container: bridged } });
    expect(left.response.status).toBe(202);
    expect((await finished(admin, left.data.operation.id)).status).toBe('succeeded');
    expect(await hostsFile(bridged)).not.toContain(serverName);
    expect(await fetchByExec(bridged, serverName)).not.toContain('hello');
    // Host B has no member of the network left: its bridge and VXLAN link are gone.
    expect(ip('-n', B.ns, '-br', 'link')).not.toContain(`berth-${net.id.slice(-9)}`);
    expect(ip('-n', B.ns, '-br', 'link')).not.toContain(`bvx-${net.id.slice(-9)}`);
    for (const id of [server, client, bridged]) await forceDelete(id);
    for (const id of [server, client, bridged]) await waitForContainer(admin, id, 'removed');
  });

  it('keeps members reaching each other across a restart of a worker, leaving its network as it was', async () => {
    const net = await newNetwork(uniqueName('lasting'));
    const serverName = uniqueName('steady');
    const { id: server } = await runContainer(admin, {
      image: 'busybox',
      host: A.name,
      name: serverName,
      hostname: 'steady-web',
      cmd: ['sh', '-c', SERVE],
      networks: [net.name],
    });
    containers.push(server);
    await waitForContainer(admin, server, 'running');
    const { id: client } = await runContainer(admin, { image: 'busybox', host: B.name, cmd: ['sleep', '1000'], networks: [net.name] });
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
    for (const id of [server, client]) await forceDelete(id);
    for (const id of [server, client]) await waitForContainer(admin, id, 'removed');
  });

  it('refuses to forget a host that still has containers, or that is ready, and only for admins', async () => {
    const { id } = await runContainer(admin, { image: 'busybox', host: A.name, cmd: ['sleep', '1000'], networkMode: 'none' });
    containers.push(id);
    expect(await problemOf(deleteHost({ client: admin, path: { id: A.name }, query: { force: true } }))).toMatchObject({ status: 409, reason: 'HostInUse' });
    await forceDelete(id);
    await waitForContainer(admin, id, 'removed');
    expect(await problemOf(deleteHost({ client: admin, path: { id: A.name } }))).toMatchObject({ status: 409, reason: 'HostReady' });
    // Not a boolean, on purpose: the SDK sends it as it is (force=maybe).
    const badForce = await problemOf(deleteHost({ client: admin, path: { id: A.name }, query: { force: 'maybe' as unknown as boolean } }));
    expect(badForce.status).toBe(400);
    expect(badForce.errors[0].field).toBe('force');
    const team = await createTeam({ client: admin, body: { name: uniqueName('hosts').toLowerCase() } });
    expect(team.response.status).toBe(201);
    expect(await problemOf(deleteHost({ client: sdkClient(team.data.token), path: { id: A.name }, query: { force: true } }))).toMatchObject({
      status: 403,
      reason: 'AdminOnly',
    });
  });
});
