import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { TeamClient, admin, env, uniqueName } from './support/api-client';

const SERVE = 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www';

/**
 * An HTTP GET from a new container on `networks`, with busybox nc (the static
 * busybox's wget crashes in its own start-up; nc resolves names the same way, from
 * /etc/hosts): answers the last line of the answer and nc's exit code.
 */
async function fetchFrom(networks: unknown[], host: string) {
  const script = `out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} 8080 2>&1); rc=$?; echo "$out" | tail -n 1; echo "exit=$rc"`;
  const id = await admin.run({ image: 'busybox', cmd: ['sh', '-c', script], networks });
  await admin.waitContainer(id, 'exited');
  const out = (await admin.logs(id)).text;
  await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { freePort } = require('../scripts/lib/stack.cjs') as { freePort: () => Promise<number> };

const hostLinks = () => execFileSync('ip', ['-br', 'link'], { encoding: 'utf8' });
const hostRules = () => execFileSync('iptables-save', [], { encoding: 'utf8' });

describe('networks', () => {
  beforeAll(async () => {
    expect((await admin.loadImage(env.busyboxOciTar)).status).toBe('succeeded');
  });

  // Last: every container these tests made is deleted, and then nothing of them is left on the host.
  afterAll(async () => {
    const ours = (name: string) => name.includes(`-${process.pid}-`);
    // One more, running, on two networks with a published port, so there is surely something to clean.
    const a = (await admin.post('/v1/networks', { name: uniqueName('last-a') }).expect(201)).body;
    const b = (await admin.post('/v1/networks', { name: uniqueName('last-b'), internal: true }).expect(201)).body;
    const last = await admin.run({
      image: 'busybox',
      cmd: ['sleep', '1000'],
      networks: [a.name, b.name],
      ports: [{ hostPort: await freePort(), containerPort: 80 }],
    });
    expect(hostLinks()).toContain(`berth-${a.id.slice(-9)}`);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain(last);
    const mine = (await admin.get('/v1/containers?limit=100').expect(200)).body.items.filter((c: { networks: { name: string }[] }) =>
      c.networks.some((n) => ours(n.name)),
    );
    const ids: string[] = mine.map((c: { id: string }) => c.id);
    await Promise.all(ids.map((id) => admin.delete(`/v1/containers/${id}?force=true`)));
    for (const id of ids) await admin.waitContainer(id, 'removed');
    const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const mounts = execFileSync('cat', ['/proc/mounts'], { encoding: 'utf8' });
    const rules = hostRules();
    for (const id of ids) {
      expect(netns).not.toContain(id);
      expect(mounts).not.toContain(id);
      expect(rules).not.toContain(id);
    }
    expect(ids).toContain(last);
    for (const n of (await admin.get('/v1/networks').expect(200)).body.items as { id: string; name: string; containers: unknown[] }[]) {
      if (ours(n.name)) expect(n.containers).toEqual([]);
      if (!n.containers.length) expect(hostLinks()).not.toContain(`berth-${n.id.slice(-9)}`);
    }
  });

  it('creates networks with a subnet from the pool or given, refusing overlaps and bad input with the field named', async () => {
    const auto = (await admin.post('/v1/networks', { name: uniqueName('auto'), labels: { tier: 'web' } }).expect(201)).body;
    expect(auto).toMatchObject({
      id: expect.stringMatching(/^net_/),
      driver: 'bridge',
      subnet: expect.stringMatching(/\/24$/),
      internal: false,
      isDefault: false,
      containers: [],
      labels: { tier: 'web' },
    });
    const fixed = (
      await admin
        .post('/v1/networks', { name: uniqueName('fixed'), subnet: '10.230.7.0/24', gateway: '10.230.7.254', ipRange: '10.230.7.128/25', internal: true })
        .expect(201)
    ).body;
    expect(fixed).toMatchObject({ subnet: '10.230.7.0/24', gateway: '10.230.7.254', ipRange: '10.230.7.128/25', internal: true });
    expect((await admin.post('/v1/networks', { name: uniqueName('overlap'), subnet: '10.230.0.0/16' }).expect(409)).body.reason).toBe('SubnetInUse');
    expect((await admin.post('/v1/networks', { name: fixed.name }).expect(409)).body.reason).toBe('NetworkNameInUse');
    expect((await admin.post('/v1/networks', { name: uniqueName('bad'), subnet: '10.230.8.1/24' }).expect(400)).body.errors[0].field).toBe('subnet');
    expect(
      (await admin.post('/v1/networks', { name: uniqueName('bad'), subnet: '10.230.9.0/24', gateway: '10.231.0.1' }).expect(400)).body.errors[0].field,
    ).toBe('gateway');
    expect(
      (await admin.post('/v1/networks', { name: uniqueName('bad'), subnet: '10.230.10.0/24', ipRange: '10.230.11.0/25' }).expect(400)).body.errors[0].field,
    ).toBe('ipRange');
    expect((await admin.post('/v1/networks', { name: 'bad name!' }).expect(400)).body.errors[0].field).toBe('name');
    await admin.delete(`/v1/networks/${fixed.id}`).expect(204);
    await admin.get(`/v1/networks/${fixed.id}`).expect(404);
  });

  it('gives 50 concurrent creates on one network 50 distinct addresses, and frees them on delete', async () => {
    const net = (await admin.post('/v1/networks', { name: uniqueName('busy') }).expect(201)).body;
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        admin.post('/v1/containers', { image: 'busybox', cmd: ['true'], start: false, name: uniqueName(`c${i}`), networks: [net.name] }).expect(202),
      ),
    );
    const addresses = created.map((r) => r.body.container.networks[0].ipAddress as string);
    expect(new Set(addresses).size).toBe(50);
    for (const a of addresses) expect(a.startsWith(net.subnet.split('.').slice(0, 3).join('.'))).toBe(true);
    expect(addresses).not.toContain(net.gateway);
    const listed = (await admin.get(`/v1/networks/${net.id}`).expect(200)).body.containers;
    expect(listed).toHaveLength(50);

    expect((await admin.delete(`/v1/networks/${net.id}`).expect(409)).body.reason).toBe('NetworkInUse');
    for (const r of created) await admin.waitOperation(r.body.operation.id);
    await Promise.all(created.map((r) => admin.delete(`/v1/containers/${r.body.container.id}?force=true`).expect(202)));
    for (const r of created) await admin.waitContainer(r.body.container.id, 'removed');
    expect((await admin.get(`/v1/networks/${net.id}`).expect(200)).body.containers).toEqual([]);
    await admin.delete(`/v1/networks/${net.id}`).expect(204);
  });

  it('takes fixed addresses and aliases, refusing a taken or foreign address', async () => {
    const net = (await admin.post('/v1/networks', { name: uniqueName('fixed'), subnet: '10.231.3.0/24' }).expect(201)).body;
    const first = await admin
      .post('/v1/containers', { image: 'busybox', cmd: ['true'], start: false, networks: [{ name: net.name, ipAddress: '10.231.3.50', aliases: ['db'] }] })
      .expect(202);
    expect(first.body.container.networks).toEqual([expect.objectContaining({ name: net.name, ipAddress: '10.231.3.50', aliases: ['db'] })]);
    expect((await admin.post('/v1/containers', { image: 'busybox', networks: [{ name: net.name, ipAddress: '10.231.3.50' }] }).expect(409)).body.reason).toBe(
      'AddressInUse',
    );
    expect(
      (await admin.post('/v1/containers', { image: 'busybox', networks: [{ name: net.name, ipAddress: '10.231.4.2' }] }).expect(400)).body.errors[0].field,
    ).toBe('networks[0].ipAddress');
    expect((await admin.post('/v1/containers', { image: 'busybox', networks: ['no-such-network'] }).expect(404)).body.reason).toBe('NetworkNotFound');
    expect(
      (await admin.post('/v1/containers', { image: 'busybox', networks: [{ name: net.name, aliases: ['bad alias'] }] }).expect(400)).body.errors[0].field,
    ).toBe('networks[0].aliases');
    expect((await admin.post('/v1/containers', { image: 'busybox', networkMode: 'none', networks: [net.name] }).expect(400)).body.reason).toBe(
      'ConflictingOptions',
    );
    expect((await admin.post('/v1/containers', { image: 'busybox', networkMode: 'host' }).expect(403)).body.reason).toBe('HostNetworkNotAllowed');
    await admin.waitOperation(first.body.operation.id);
    await admin.delete(`/v1/containers/${first.body.container.id}?force=true`).expect(202);
  });

  it('gives containers the host’s reachable name servers, or their own dns settings', async () => {
    const resolvConf = async (body: object) => {
      const id = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'], ...body });
      const out = (await admin.post(`/v1/containers/${id}/exec`, { cmd: ['cat', '/etc/resolv.conf'] }).expect(200)).body.stdout as string;
      await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
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
    expect((await admin.post('/v1/containers', { image: 'busybox', dns: { servers: ['resolver.example'] } }).expect(400)).body.errors[0].field).toBe(
      'dns.servers',
    );
    expect((await admin.post('/v1/containers', { image: 'busybox', dns: { options: ['rm -rf'] } }).expect(400)).body.errors[0].field).toBe('dns.options');
  });

  it('puts a container that names no network on the team’s default network', async () => {
    const res = await admin.post('/v1/containers', { image: 'busybox', cmd: ['true'], start: false }).expect(202);
    expect(res.body.container.networkMode).toBe('bridge');
    expect(res.body.container.networks).toEqual([expect.objectContaining({ name: 'default' })]);
    const def = (await admin.get('/v1/networks/default').expect(200)).body;
    expect(def.isDefault).toBe(true);
    await admin.waitOperation(res.body.operation.id);
    await admin.delete(`/v1/containers/${res.body.container.id}?force=true`).expect(202);
  });

  it('lets containers on one network reach each other by name and alias, and keeps other networks out', async () => {
    const front = (await admin.post('/v1/networks', { name: uniqueName('front') }).expect(201)).body;
    const other = (await admin.post('/v1/networks', { name: uniqueName('other') }).expect(201)).body;
    const name = uniqueName('web');
    const server = await admin.run({ image: 'busybox', name, hostname: 'web', cmd: ['sh', '-c', SERVE], networks: [{ name: front.name, aliases: ['site'] }] });
    await admin.waitContainer(server, 'running');

    const ipFirst = (await admin.get(`/v1/containers/${server}`).expect(200)).body.networks[0].ipAddress;
    expect(await fetchFrom([front.name], ipFirst)).toBe('hello from web\nexit=0\n');
    expect(await fetchFrom([front.name], name)).toBe('hello from web\nexit=0\n');
    expect(await fetchFrom([front.name], 'site')).toBe('hello from web\nexit=0\n');
    const ip = (await admin.get(`/v1/containers/${server}`).expect(200)).body.networks[0].ipAddress;
    const outsider = await fetchFrom([other.name], ip);
    expect(outsider).not.toContain('hello');
    expect(outsider).toMatch(/exit=[1-9]/);

    const bridge = `berth-${front.id.slice(-9)}`;
    expect(hostLinks()).toContain(bridge);
    await admin.delete(`/v1/containers/${server}?force=true`).expect(202);
    await admin.waitContainer(server, 'removed');
    // The last container on the network is gone: so are its bridge, veths and rules.
    expect(hostLinks()).not.toContain(bridge);
    expect(hostRules()).not.toContain(server);
    await admin.delete(`/v1/networks/${front.id}`).expect(204);
    await admin.delete(`/v1/networks/${other.id}`).expect(204);
  });

  it('publishes a port on 127.0.0.1, and refuses a port that is taken before creating anything', async () => {
    const net = (await admin.post('/v1/networks', { name: uniqueName('pub') }).expect(201)).body;
    const port = await freePort();
    const server = await admin.run({
      image: 'busybox',
      hostname: 'pub',
      cmd: ['sh', '-c', SERVE],
      networks: [net.name],
      ports: [{ hostPort: port, containerPort: 8080, hostIp: '127.0.0.1' }],
    });
    await admin.waitContainer(server, 'running');
    let body = '';
    for (let i = 0; i < 50 && !body; i++) {
      body = await fetch(`http://127.0.0.1:${port}/`)
        .then((r) => r.text())
        .catch(() => '');
      if (!body) await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toBe('hello from pub\n');

    const again = await admin.post('/v1/containers', { image: 'busybox', networks: [net.name], ports: [{ hostPort: port, containerPort: 80 }] }).expect(409);
    expect(again.body.reason).toBe('PortInUse');
    // Another team is refused too, without learning the name of the container that holds the port.
    const team = await admin.post('/v1/teams', { name: uniqueName('ports').toLowerCase() }).expect(201);
    const stranger = await new TeamClient(team.body.token)
      .post('/v1/containers', { image: 'busybox', ports: [{ hostPort: port, containerPort: 80 }] })
      .expect(409);
    expect(stranger.body.reason).toBe('PortInUse');
    const serverName = (await admin.get(`/v1/containers/${server}`).expect(200)).body.name;
    expect(JSON.stringify(stranger.body)).not.toContain(serverName);

    // A port some other process on the host holds: the worker refuses it before it makes anything.
    const holder = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => holder.once('listening', r));
    const held = (holder.address() as { port: number }).port;
    try {
      const res = await admin
        .post('/v1/containers', { image: 'busybox', networks: [net.name], ports: [{ hostPort: held, containerPort: 80, hostIp: '127.0.0.1' }] })
        .expect(202);
      expect(await admin.waitOperation(res.body.operation.id)).toMatchObject({ status: 'failed', error: { reason: 'PortInUse' } });
      expect(hostRules()).not.toContain(res.body.container.id);
      await admin.delete(`/v1/containers/${res.body.container.id}?force=true`).expect(202);
    } finally {
      holder.close();
    }
    await admin.delete(`/v1/containers/${server}?force=true`).expect(202);
    await admin.waitContainer(server, 'removed');
    expect(hostRules()).not.toContain(`${port}`.padStart(1));
  });

  it('gives an internal network no route out', async () => {
    const net = (await admin.post('/v1/networks', { name: uniqueName('internal'), internal: true }).expect(201)).body;
    const id = await admin.run({ image: 'busybox', cmd: ['sh', '-c', 'ip route; echo done'], networks: [net.name] });
    await admin.waitContainer(id, 'exited');
    const routes = (await admin.logs(id)).text;
    expect(routes).toContain(net.subnet);
    expect(routes).not.toMatch(/^default/m);
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  });

  it('connects a running container to a network and disconnects it, keeping names current', async () => {
    const front = (await admin.post('/v1/networks', { name: uniqueName('join') }).expect(201)).body;
    const elsewhere = (await admin.post('/v1/networks', { name: uniqueName('away') }).expect(201)).body;
    const name = uniqueName('svc');
    const server = await admin.run({ image: 'busybox', name, hostname: 'svc', cmd: ['sh', '-c', SERVE], networks: [front.name] });
    const client = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'], networks: [elsewhere.name] });
    await admin.waitContainer(server, 'running');
    const get = async () => {
      const script = `out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${name} 8080 2>&1); echo "$out" | tail -n 1`;
      return (await admin.post(`/v1/containers/${client}/exec`, { cmd: ['sh', '-c', script] }).expect(200)).body.stdout as string;
    };
    expect(await get()).not.toContain('hello');

    const joined = await admin.post(`/v1/networks/${front.name}/connect`, { container: client, aliases: ['cli'] }).expect(202);
    expect(joined.body.container.networks.map((n: { name: string }) => n.name)).toEqual([elsewhere.name, front.name]);
    expect((await admin.waitOperation(joined.body.operation.id)).status).toBe('succeeded');
    expect(await get()).toBe('hello from svc\n');
    expect((await admin.post(`/v1/networks/${front.name}/connect`, { container: client }).expect(409)).body.reason).toBe('AlreadyConnected');

    const left = await admin.post(`/v1/networks/${front.id}/disconnect`, { container: client }).expect(202);
    expect((await admin.waitOperation(left.body.operation.id)).status).toBe('succeeded');
    expect(await get()).not.toContain('hello');
    expect((await admin.get(`/v1/networks/${front.id}`).expect(200)).body.containers.map((c: { containerId: string }) => c.containerId)).toEqual([server]);

    for (const id of [server, client]) await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  });

  it('runs on the host’s network only when the team’s policy allows it', async () => {
    const team = await admin.post('/v1/teams', { name: uniqueName('hostnet').toLowerCase() }).expect(201);
    const client = new TeamClient(team.body.token);
    expect((await client.loadImage(env.busyboxOciTar)).status).toBe('succeeded');
    await client.post('/v1/containers', { image: 'busybox', networkMode: 'host' }).expect(403);
    await admin.put(`/v1/teams/${team.body.team.id}/policy`, { allowPrivileged: false, allowedCapabilities: [], allowHostNetwork: true }).expect(200);
    const id = await client.run({ image: 'busybox', cmd: ['cat', '/proc/net/dev'], networkMode: 'host' });
    await client.waitContainer(id, 'exited');
    const hostDevices = execFileSync('cat', ['/proc/net/dev'], { encoding: 'utf8' })
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0].trim())
      .filter(Boolean);
    const seen = (await client.logs(id)).text;
    for (const dev of hostDevices.filter((d) => !d.startsWith('berth'))) expect(seen).toContain(dev);
    expect((await client.get(`/v1/containers/${id}`).expect(200)).body).toMatchObject({ networkMode: 'host', networks: [] });
  });
});
