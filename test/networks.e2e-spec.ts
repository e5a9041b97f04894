import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import {
  type BerthClient,
  BerthProblem,
  type CreateNetworkRequest,
  connectContainer,
  createContainer,
  createNetwork,
  createTeam,
  deleteContainer,
  deleteNetwork,
  disconnectContainer,
  execInContainer,
  getContainer,
  getNetwork,
  listContainers,
  listNetworks,
  setTeamPolicy,
} from '@berth/sdk';
import { env, uniqueName } from './support/api-client';
import { adminSdk, finished, loadImageTar, logText, problemOf, runContainer, sdkClient, waitForContainer } from './support/sdk';

const admin = adminSdk();

const SERVE = 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www';

/** Creates a network (201) and answers it. */
async function newNetwork(body: CreateNetworkRequest, client: BerthClient = admin) {
  const res = await createNetwork({ client, body });
  expect(res.response.status).toBe(201);
  return res.data;
}

/** Deletes a network (204). */
async function removeNetwork(id: string, client: BerthClient = admin) {
  expect((await deleteNetwork({ client, path: { id } })).response.status).toBe(204);
}

/** Force-deletes a container (202) and answers its operation. */
async function forceDelete(id: string, client: BerthClient = admin) {
  const res = await deleteContainer({ client, path: { id }, query: { force: true } });
  expect(res.response.status).toBe(202);
  return res.data.operation;
}

/** Runs a command in a running container (200) and answers its stdout. */
async function execOut(id: string, cmd: string[]) {
  const res = await execInContainer({ client: admin, path: { id }, body: { cmd } });
  expect(res.response.status).toBe(200);
  return res.data.stdout;
}

/** A call whose error answer does not matter here (an answer the document does not describe still fails). */
async function tolerating(call: Promise<unknown>): Promise<void> {
  await call.catch((e: unknown) => {
    if (!(e instanceof BerthProblem)) throw e;
  });
}

/**
 * An HTTP GET from a new container on `networks`, with busybox nc (the static
 * busybox's wget crashes in its own start-up; nc resolves names the same way, from
 * /etc/hosts): answers the last line of the answer and nc's exit code.
 */
async function fetchFrom(networks: NonNullable<Parameters<typeof runContainer>[1]['networks']>, host: string) {
  const script = `out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} 8080 2>&1); rc=$?; echo "$out" | tail -n 1; echo "exit=$rc"`;
  const { id } = await runContainer(admin, { image: 'busybox', cmd: ['sh', '-c', script], networks });
  await waitForContainer(admin, id, 'exited');
  const out = await logText(admin, id);
  await forceDelete(id);
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { freePort } = require('../scripts/lib/stack.cjs') as { freePort: () => Promise<number> };

const hostLinks = () => execFileSync('ip', ['-br', 'link'], { encoding: 'utf8' });
const hostRules = () => execFileSync('iptables-save', [], { encoding: 'utf8' });

describe('networks', () => {
  beforeAll(async () => {
    expect((await loadImageTar(admin, env.busyboxOciTar)).status).toBe('succeeded');
  });

  // Last: every container these tests made is deleted, and then nothing of them is left on the host.
  afterAll(async () => {
    const ours = (name: string) => name.includes(`-${process.pid}-`);
    // One more, running, on two networks with a published port, so there is surely something to clean.
    const a = await newNetwork({ name: uniqueName('last-a') });
    const b = await newNetwork({ name: uniqueName('last-b'), internal: true });
    const { id: last } = await runContainer(admin, {
      image: 'busybox',
      cmd: ['sleep', '1000'],
      networks: [a.name, b.name],
      ports: [{ hostPort: await freePort(), containerPort: 80 }],
    });
    expect(hostLinks()).toContain(`berth-${a.id.slice(-9)}`);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(last);
    const mine = (await listContainers({ client: admin, query: { limit: 100 } })).data.items.filter((c) => c.networks.some((n) => ours(n.name)));
    const ids = mine.map((c) => c.id);
    await Promise.all(ids.map((id) => tolerating(deleteContainer({ client: admin, path: { id }, query: { force: true } }))));
    for (const id of ids) await waitForContainer(admin, id, 'removed');
    const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const mounts = execFileSync('cat', ['/proc/mounts'], { encoding: 'utf8' });
    const rules = hostRules();
    for (const id of ids) {
      expect(netns).not.toContain(id);
      expect(mounts).not.toContain(id);
      expect(rules).not.toContain(id);
    }
    expect(ids).toContain(last);
    for (const n of (await listNetworks({ client: admin })).data.items) {
      if (ours(n.name)) expect(n.containers).toEqual([]);
      if (!n.containers.length) expect(hostLinks()).not.toContain(`berth-${n.id.slice(-9)}`);
    }
  });

  it('creates networks with a subnet from the pool or given, refusing overlaps and bad input with the field named', async () => {
    const auto = await newNetwork({ name: uniqueName('auto'), labels: { tier: 'web' } });
    expect(auto).toMatchObject({
      id: expect.stringMatching(/^net_/),
      driver: 'bridge',
      subnet: expect.stringMatching(/\/24$/),
      internal: false,
      isDefault: false,
      containers: [],
      labels: { tier: 'web' },
    });
    const fixed = await newNetwork({ name: uniqueName('fixed'), subnet: '10.230.7.0/24', gateway: '10.230.7.254', ipRange: '10.230.7.128/25', internal: true });
    expect(fixed).toMatchObject({ subnet: '10.230.7.0/24', gateway: '10.230.7.254', ipRange: '10.230.7.128/25', internal: true });
    const refused = (body: CreateNetworkRequest) => problemOf(createNetwork({ client: admin, body }));
    expect(await refused({ name: uniqueName('overlap'), subnet: '10.230.0.0/16' })).toMatchObject({ status: 409, reason: 'SubnetInUse' });
    expect(await refused({ name: fixed.name })).toMatchObject({ status: 409, reason: 'NetworkNameInUse' });
    const badSubnet = await refused({ name: uniqueName('bad'), subnet: '10.230.8.1/24' });
    expect(badSubnet.status).toBe(400);
    expect(badSubnet.errors[0].field).toBe('subnet');
    const badGateway = await refused({ name: uniqueName('bad'), subnet: '10.230.9.0/24', gateway: '10.231.0.1' });
    expect(badGateway.status).toBe(400);
    expect(badGateway.errors[0].field).toBe('gateway');
    const badRange = await refused({ name: uniqueName('bad'), subnet: '10.230.10.0/24', ipRange: '10.230.11.0/25' });
    expect(badRange.status).toBe(400);
    expect(badRange.errors[0].field).toBe('ipRange');
    const badName = await refused({ name: 'bad name!' });
    expect(badName.status).toBe(400);
    expect(badName.errors[0].field).toBe('name');
    await removeNetwork(fixed.id);
    expect((await problemOf(getNetwork({ client: admin, path: { id: fixed.id } }))).status).toBe(404);
  });

  it('gives 50 concurrent creates on one network 50 distinct addresses, and frees them on delete', async () => {
    const net = await newNetwork({ name: uniqueName('busy') });
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        createContainer({ client: admin, body: { image: 'busybox', cmd: ['true'], start: false, name: uniqueName(`c${i}`), networks: [net.name] } }),
      ),
    );
    for (const r of created) expect(r.response.status).toBe(202);
    const addresses = created.map((r) => r.data.container.networks[0].ipAddress);
    expect(new Set(addresses).size).toBe(50);
    for (const a of addresses) expect(a.startsWith(net.subnet.split('.').slice(0, 3).join('.'))).toBe(true);
    expect(addresses).not.toContain(net.gateway);
    const listed = (await getNetwork({ client: admin, path: { id: net.id } })).data.containers;
    expect(listed).toHaveLength(50);

    expect(await problemOf(deleteNetwork({ client: admin, path: { id: net.id } }))).toMatchObject({ status: 409, reason: 'NetworkInUse' });
    for (const r of created) await finished(admin, r.data.operation.id);
    await Promise.all(created.map((r) => forceDelete(r.data.container.id)));
    for (const r of created) await waitForContainer(admin, r.data.container.id, 'removed');
    expect((await getNetwork({ client: admin, path: { id: net.id } })).data.containers).toEqual([]);
    await removeNetwork(net.id);
  });

  it('takes fixed addresses and aliases, refusing a taken or foreign address', async () => {
    const net = await newNetwork({ name: uniqueName('fixed'), subnet: '10.231.3.0/24' });
    const first = await createContainer({
      client: admin,
      body: { image: 'busybox', cmd: ['true'], start: false, networks: [{ name: net.name, ipAddress: '10.231.3.50', aliases: ['db'] }] },
    });
    expect(first.response.status).toBe(202);
    expect(first.data.container.networks).toEqual([expect.objectContaining({ name: net.name, ipAddress: '10.231.3.50', aliases: ['db'] })]);
    const refused = (body: Parameters<typeof runContainer>[1]) => problemOf(createContainer({ client: admin, body }));
    expect(await refused({ image: 'busybox', networks: [{ name: net.name, ipAddress: '10.231.3.50' }] })).toMatchObject({
      status: 409,
      reason: 'AddressInUse',
    });
    const foreign = await refused({ image: 'busybox', networks: [{ name: net.name, ipAddress: '10.231.4.2' }] });
    expect(foreign.status).toBe(400);
    expect(foreign.errors[0].field).toBe('networks[0].ipAddress');
    expect(await refused({ image: 'busybox', networks: ['no-such-network'] })).toMatchObject({ status: 404, reason: 'NetworkNotFound' });
    const badAlias = await refused({ image: 'busybox', networks: [{ name: net.name, aliases: ['bad alias'] }] });
    expect(badAlias.status).toBe(400);
    expect(badAlias.errors[0].field).toBe('networks[0].aliases');
    expect(await refused({ image: 'busybox', networkMode: 'none', networks: [net.name] })).toMatchObject({ status: 400, reason: 'ConflictingOptions' });
    expect(await refused({ image: 'busybox', networkMode: 'host' })).toMatchObject({ status: 403, reason: 'HostNetworkNotAllowed' });
    await finished(admin, first.data.operation.id);
    await forceDelete(first.data.container.id);
  });

  it('gives containers the host’s reachable name servers, or their own dns settings', async () => {
    const resolvConf = async (body: Partial<Parameters<typeof runContainer>[1]>) => {
      const { id } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'], ...body });
      const out = await execOut(id, ['cat', '/etc/resolv.conf']);
      await forceDelete(id);
      return out;
    };
    const own = await resolvConf({ dns: { servers: ['10.9.9.9', '10.9.9.10'], search: ['svc.example.internal'], options: ['ndots:2'] } });
    expect(own).toContain('nameserver 10.9.9.9\nnameserver 10.9.9.10\nsearch svc.example.internal\noptions ndots:2\n');
    const inherited = await resolvConf({});
    expect(inherited).not.toMatch(/^nameserver (127\.|.*:)/m);
    const hostServers = [...readFileSync('/etc/resolv.conf', 'utf8').matchAll(/^nameserver\s+(\d+\.\d+\.\d+\.\d+)/gm)]
      .map((m) => m[1])
      .filter((ip) => !ip.startsWith('127.'));
    for (const ip of hostServers) expect(inherited).toContain(`nameserver ${ip}\n`);
    expect(await resolvConf({ networkMode: 'none', dns: { servers: ['10.9.9.9'] } })).not.toContain('nameserver');
    const badServer = await problemOf(createContainer({ client: admin, body: { image: 'busybox', dns: { servers: ['resolver.example'] } } }));
    expect(badServer.status).toBe(400);
    expect(badServer.errors[0].field).toBe('dns.servers');
    const badOption = await problemOf(createContainer({ client: admin, body: { image: 'busybox', dns: { options: ['rm -rf'] } } }));
    expect(badOption.status).toBe(400);
    expect(badOption.errors[0].field).toBe('dns.options');
  });

  it('puts a container that names no network on the team’s default network', async () => {
    const res = await createContainer({ client: admin, body: { image: 'busybox', cmd: ['true'], start: false } });
    expect(res.response.status).toBe(202);
    expect(res.data.container.networkMode).toBe('bridge');
    expect(res.data.container.networks).toEqual([expect.objectContaining({ name: 'default' })]);
    const def = (await getNetwork({ client: admin, path: { id: 'default' } })).data;
    expect(def.isDefault).toBe(true);
    await finished(admin, res.data.operation.id);
    await forceDelete(res.data.container.id);
  });

  it('lets containers on one network reach each other by name and alias, and keeps other networks out', async () => {
    const front = await newNetwork({ name: uniqueName('front') });
    const other = await newNetwork({ name: uniqueName('other') });
    const name = uniqueName('web');
    const { id: server } = await runContainer(admin, {
      image: 'busybox',
      name,
      hostname: 'web',
      cmd: ['sh', '-c', SERVE],
      networks: [{ name: front.name, aliases: ['site'] }],
    });
    await waitForContainer(admin, server, 'running');

    const ipFirst = (await getContainer({ client: admin, path: { id: server } })).data.networks[0].ipAddress;
    expect(await fetchFrom([front.name], ipFirst)).toBe('hello from web\nexit=0\n');
    expect(await fetchFrom([front.name], name)).toBe('hello from web\nexit=0\n');
    expect(await fetchFrom([front.name], 'site')).toBe('hello from web\nexit=0\n');
    const ip = (await getContainer({ client: admin, path: { id: server } })).data.networks[0].ipAddress;
    const outsider = await fetchFrom([other.name], ip);
    expect(outsider).not.toContain('hello');
    expect(outsider).toMatch(/exit=[1-9]/);

    const bridge = `berth-${front.id.slice(-9)}`;
    expect(hostLinks()).toContain(bridge);
    await forceDelete(server);
    await waitForContainer(admin, server, 'removed');
    // The last container on the network is gone: so are its bridge, veths and rules.
    expect(hostLinks()).not.toContain(bridge);
    expect(hostRules()).not.toContain(server);
    await removeNetwork(front.id);
    await removeNetwork(other.id);
  });

  it('publishes a port on 127.0.0.1, and refuses a port that is taken before creating anything', async () => {
    const net = await newNetwork({ name: uniqueName('pub') });
    const port = await freePort();
    const { id: server } = await runContainer(admin, {
      image: 'busybox',
      hostname: 'pub',
      cmd: ['sh', '-c', SERVE],
      networks: [net.name],
      ports: [{ hostPort: port, containerPort: 8080, hostIp: '127.0.0.1' }],
    });
    await waitForContainer(admin, server, 'running');
    let body = '';
    for (let i = 0; i < 50 && !body; i++) {
      // Raw: this is the container's own httpd on the published port, not the Berth API.
      body = await fetch(`http://127.0.0.1:${port}/`)
        .then((r) => r.text())
        .catch(() => '');
      if (!body) await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toBe('hello from pub\n');

    const again = await problemOf(
      createContainer({ client: admin, body: { image: 'busybox', networks: [net.name], ports: [{ hostPort: port, containerPort: 80 }] } }),
    );
    expect(again.status).toBe(409);
    expect(again.reason).toBe('PortInUse');
    // Another team is refused too, without learning the name of the container that holds the port.
    const team = await createTeam({ client: admin, body: { name: uniqueName('ports').toLowerCase() } });
    expect(team.response.status).toBe(201);
    const stranger = await problemOf(
      createContainer({ client: sdkClient(team.data.token), body: { image: 'busybox', ports: [{ hostPort: port, containerPort: 80 }] } }),
    );
    expect(stranger.status).toBe(409);
    expect(stranger.reason).toBe('PortInUse');
    const serverName = (await getContainer({ client: admin, path: { id: server } })).data.name;
    expect(JSON.stringify(stranger.problem)).not.toContain(serverName);

    // A port some other process on the host holds: the worker refuses it before it makes anything.
    const holder = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => holder.once('listening', r));
    const held = (holder.address() as { port: number }).port;
    try {
      const res = await createContainer({
        client: admin,
        body: { image: 'busybox', networks: [net.name], ports: [{ hostPort: held, containerPort: 80, hostIp: '127.0.0.1' }] },
      });
      expect(res.response.status).toBe(202);
      expect(await finished(admin, res.data.operation.id)).toMatchObject({ status: 'failed', error: { reason: 'PortInUse' } });
      expect(hostRules()).not.toContain(res.data.container.id);
      await forceDelete(res.data.container.id);
    } finally {
      holder.close();
    }
    await forceDelete(server);
    await waitForContainer(admin, server, 'removed');
    expect(hostRules()).not.toContain(`${port}`.padStart(1));
  });

  it('gives an internal network no route out', async () => {
    const net = await newNetwork({ name: uniqueName('internal'), internal: true });
    const { id } = await runContainer(admin, { image: 'busybox', cmd: ['sh', '-c', 'ip route; echo done'], networks: [net.name] });
    await waitForContainer(admin, id, 'exited');
    const routes = await logText(admin, id);
    expect(routes).toContain(net.subnet);
    expect(routes).not.toMatch(/^default/m);
    await forceDelete(id);
  });

  it('connects a running container to a network and disconnects it, keeping names current', async () => {
    const front = await newNetwork({ name: uniqueName('join') });
    const elsewhere = await newNetwork({ name: uniqueName('away') });
    const name = uniqueName('svc');
    const { id: server } = await runContainer(admin, { image: 'busybox', name, hostname: 'svc', cmd: ['sh', '-c', SERVE], networks: [front.name] });
    const { id: client } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'], networks: [elsewhere.name] });
    await waitForContainer(admin, server, 'running');
    const get = async () => {
      const script = `out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${name} 8080 2>&1); echo "$out" | tail -n 1`;
      return execOut(client, ['sh', '-c', script]);
    };
    expect(await get()).not.toContain('hello');

    const joined = await connectContainer({ client: admin, path: { id: front.name }, body: { container: client, aliases: ['cli'] } });
    expect(joined.response.status).toBe(202);
    expect(joined.data.container.networks.map((n) => n.name)).toEqual([elsewhere.name, front.name]);
    expect((await finished(admin, joined.data.operation.id)).status).toBe('succeeded');
    expect(await get()).toBe('hello from svc\n');
    expect(await problemOf(connectContainer({ client: admin, path: { id: front.name }, body: { container: client } }))).toMatchObject({
      status: 409,
      reason: 'AlreadyConnected',
    });

    const left = await disconnectContainer({ client: admin, path: { id: front.id }, body: { container: client } });
    expect(left.response.status).toBe(202);
    expect((await finished(admin, left.data.operation.id)).status).toBe('succeeded');
    expect(await get()).not.toContain('hello');
    expect((await getNetwork({ client: admin, path: { id: front.id } })).data.containers.map((c) => c.containerId)).toEqual([server]);

    for (const id of [server, client]) await forceDelete(id);
  });

  it('runs on the host’s network only when the team’s policy allows it', async () => {
    const team = await createTeam({ client: admin, body: { name: uniqueName('hostnet').toLowerCase() } });
    expect(team.response.status).toBe(201);
    const client = sdkClient(team.data.token);
    expect((await loadImageTar(client, env.busyboxOciTar)).status).toBe('succeeded');
    expect((await problemOf(createContainer({ client, body: { image: 'busybox', networkMode: 'host' } }))).status).toBe(403);
    const policy = await setTeamPolicy({
      client: admin,
      path: { id: team.data.team.id },
      body: { allowPrivileged: false, allowedCapabilities: [], allowHostNetwork: true },
    });
    expect(policy.response.status).toBe(200);
    const { id } = await runContainer(client, { image: 'busybox', cmd: ['cat', '/proc/net/dev'], networkMode: 'host' });
    await waitForContainer(client, id, 'exited');
    const hostDevices = execFileSync('cat', ['/proc/net/dev'], { encoding: 'utf8' })
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0].trim())
      .filter(Boolean);
    const seen = await logText(client, id);
    for (const dev of hostDevices.filter((d) => !d.startsWith('berth'))) expect(seen).toContain(dev);
    expect((await getContainer({ client, path: { id } })).data).toMatchObject({ networkMode: 'host', networks: [] });
  });
});
