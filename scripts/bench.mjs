#!/usr/bin/env node
/**
 * `npm run bench`: the latency of create→exited through the API for busybox `true`,
 * next to a raw `runc run` of a prepared bundle measured in the same run, and the
 * ratio between them; then the time to pull a multi-layer image from a registry on
 * loopback, cold (nothing on the host) and warm (layers present), next to fetching
 * the same blobs straight from the registry; then traffic between containers of one
 * network on two hosts (two network namespaces of this run joined by a veth pair, the
 * hosts' bridges joined by VXLAN) next to the same traffic between containers on one
 * host. BENCH_RUNS sets the number of measured create runs (default 30),
 * BENCH_PULL_RUNS the pulls (default 5).
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const stack = require('./lib/stack.cjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const PULL_RUNS = Number(process.env.BENCH_PULL_RUNS ?? 5);
const PULL_LAYERS = 6;
const PULL_LAYER_BYTES = 8 * 1024 * 1024;
const WARMUP = 3;

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(name, values) {
  return { name, runs: values.length, p50: percentile(values, 50), p95: percentile(values, 95), mean: values.reduce((a, b) => a + b, 0) / values.length };
}

async function timeApi(base, token, extra = {}) {
  const { call } = client(base, token);
  const times = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const t0 = performance.now();
    const created = await call('POST', '/v1/containers', { image: 'busybox', cmd: ['true'], ...extra });
    const waited = await call('GET', `/v1/containers/${created.container.id}/wait?condition=exited&timeout=60`);
    const ms = performance.now() - t0;
    if (!waited.met || waited.exitCode !== 0) throw new Error(`run ${i} did not exit 0: ${JSON.stringify(waited)}`);
    if (i >= WARMUP) times.push(ms);
    const del = await call('DELETE', `/v1/containers/${created.container.id}`);
    await call('GET', `/v1/operations/${del.operation.id}/wait?timeout=60`);
  }
  return times;
}

/** A bundle like the one Berth runs: busybox rootfs, runc's default spec, `true` as the process. */
function prepareBundle(dir) {
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'etc']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(rootfs, 'bin', 'true'));
  execFileSync('runc', ['spec', '--bundle', dir]);
  const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['/bin/true'];
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
}

function timeRawRunc(dir) {
  const runcRoot = path.join(dir, 'runc-state');
  const times = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const id = `bench-${randomBytes(4).toString('hex')}`;
    const t0 = performance.now();
    const r = spawnSync('runc', ['--root', runcRoot, 'run', '--bundle', dir, id], { stdio: 'ignore' });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`runc run exited ${r.status}`);
    if (i >= WARMUP) times.push(ms);
  }
  return times;
}

/** An API client for one token: JSON in and out, operations waited for. */
function client(base, token) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const call = async (method, url, body) => {
    const res = await fetch(`${base}${url}`, { method, headers, body: body && JSON.stringify(body) });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const wait = async (operation) => {
    const done = await call('GET', `/v1/operations/${operation.id}/wait?timeout=300`);
    if (done.status !== 'succeeded') throw new Error(`${done.kind} failed: ${JSON.stringify(done.error)}`);
    return done;
  };
  return { call, wait };
}

/** Layers of incompressible bytes (so gzip does not shrink the transfer), over busybox. */
async function bigImageArchive(builder, reference) {
  const layers = [await builder.busyboxLayer()];
  for (let i = 0; i < PULL_LAYERS; i++) layers.push([{ path: `data-${i}.bin`, type: 'file', content: randomBytes(PULL_LAYER_BYTES) }]);
  return builder.buildImageArchive({ format: 'oci', images: [{ references: [reference], layers, config: { cmd: ['sh'] } }] });
}

/** The baseline: every blob of the image fetched from the registry and hashed, nothing stored. */
async function rawDownload(registry, repository, tag) {
  const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
  const t0 = performance.now();
  const manifest = await (await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, { headers: { accept } })).json();
  for (const blob of [manifest.config, ...manifest.layers]) {
    const res = await fetch(`http://${registry}/v2/${repository}/blobs/${blob.digest}`);
    const hash = createHash('sha256');
    for await (const chunk of res.body) hash.update(chunk);
    if (`sha256:${hash.digest('hex')}` !== blob.digest) throw new Error(`blob ${blob.digest} arrived damaged`);
  }
  return performance.now() - t0;
}

async function timePulls(base, token, builder, registry) {
  const { call, wait } = client(base, token);
  const reference = `${registry.host}/bench/big:1`;
  const tar = await bigImageArchive(builder, reference);
  const load = await fetch(`${base}/v1/images/load`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-tar' },
    body: tar,
  });
  await wait((await load.json()).operation);
  await wait((await call('POST', `/v1/images/${encodeURIComponent(reference)}/push`, {})).operation);
  const cold = [];
  const warm = [];
  const raw = [];
  for (let i = 0; i < PULL_RUNS; i++) {
    raw.push(await rawDownload(registry.host, 'bench/big', '1'));
    // Cold: the host holds nothing of the image (deleted, blobs and layers collected).
    await new Promise((r) => setTimeout(r, 600));
    const removed = await call('DELETE', `/v1/images/${encodeURIComponent(reference)}`);
    for (const op of removed.operations) await wait(op);
    let t0 = performance.now();
    await wait((await call('POST', '/v1/images/pull', { reference })).operation);
    cold.push(performance.now() - t0);
    t0 = performance.now();
    await wait((await call('POST', '/v1/images/pull', { reference })).operation);
    warm.push(performance.now() - t0);
  }
  return { raw, cold, warm, bytes: tar.length };
}

/** In a container's namespace: a TCP server that echoes one byte ('e') or sends `size` bytes ('t'). */
const NET_SERVER = `const size = Number(process.argv[1]); const chunk = Buffer.alloc(1 << 20, 120);
require('node:net').createServer((s) => s.once('data', (d) => {
  if (d[0] === 101) return s.end('e');
  let left = size; const more = () => { while (left > 0) { left -= chunk.length; if (!s.write(chunk)) return s.once('drain', more); } s.end(); }; more();
})).listen(9000, () => process.stdout.write('ready\\n'));`;

/** In a container's namespace: `runs` request/answer round trips, then one bulk transfer; prints JSON. */
const NET_CLIENT = `const net = require('node:net'); const [host, runs] = [process.argv[1], Number(process.argv[2])];
const once = (first) => new Promise((resolve, reject) => { const t0 = performance.now(); let n = 0;
  const s = net.connect(9000, host, () => s.write(first)); s.on('data', (d) => (n += d.length)); s.on('error', reject);
  s.on('end', () => resolve({ ms: performance.now() - t0, bytes: n })); });
(async () => { const rtt = []; for (let i = 0; i < runs; i++) rtt.push((await once('e')).ms);
  const bulk = await once('t'); process.stdout.write(JSON.stringify({ rtt, bulk })); })().catch((e) => { console.error(e); process.exit(1); });`;

/**
 * Traffic between containers of one network: a server on host A, a client on host A
 * and one on host B, each host a namespace whose HostNetworks lives there, the two
 * joined by a veth pair (the underlay) and their bridges by VXLAN.
 */
async function benchAcrossHosts(runs, bulkBytes) {
  const { HostNetworks } = stack.requireRuntime('index.js');
  const { newId } = require(path.join(stack.ROOT, 'dist/apps/worker/libs/domain/src/ids.js'));
  const tag = randomBytes(2).toString('hex');
  const dir = fs.mkdtempSync(path.join('/var/tmp', 'berth-bench-net-'));
  const server = newId('container');
  const local = newId('container');
  const remote = newId('container');
  let pair;
  let networks = [];
  let child;
  try {
    pair = stack.hostPair(tag);
    const { hosts } = pair;
    networks = hosts.map((h) => new HostNetworks({ stateDir: path.join(dir, h.ns), hostNetns: h.netns }));
    const mtu = await networks[0].overlayMtu(hosts[0].address);
    const net = { networkId: `net_bench${tag}`, name: 'bench', bridge: `berth-b${tag}`, subnet: '10.215.9.0/24', gateway: '10.215.9.1', internal: false, mtu };
    await networks[0].attach(server, [{ ...net, ipAddress: '10.215.9.2' }]);
    await networks[0].attach(local, [{ ...net, ipAddress: '10.215.9.3' }]);
    await networks[1].attach(remote, [{ ...net, ipAddress: '10.215.9.4' }]);
    const vni = 9000 + (Number.parseInt(tag, 16) % 1000);
    await networks[0].setOverlay(net.bridge, { vni, localAddress: hosts[0].address, peers: [hosts[1].address] });
    await networks[1].setOverlay(net.bridge, { vni, localAddress: hosts[1].address, peers: [hosts[0].address] });
    child = spawn('ip', ['netns', 'exec', `berth-${server}`, process.execPath, '-e', NET_SERVER, String(bulkBytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      child.stdout.once('data', resolve);
      child.once('exit', (code) => reject(new Error(`the bench server exited (${code})`)));
    });
    const measure = (id) =>
      JSON.parse(
        execFileSync('ip', ['netns', 'exec', `berth-${id}`, process.execPath, '-e', NET_CLIENT, '10.215.9.2', String(runs)], {
          encoding: 'utf8',
          timeout: 120_000,
        }),
      );
    measure(local); // warm-up: ARP, the learned MACs
    measure(remote);
    return { mtu, local: measure(local), remote: measure(remote) };
  } finally {
    if (child?.pid) process.kill(child.pid, 'SIGKILL');
    for (const n of networks) await n.reconcile({ containers: [], bridges: [] }).catch(() => undefined);
    pair?.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function fmt(ms) {
  return `${ms.toFixed(1).padStart(8)} ms`;
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the benchmark runs containers and needs root');
  const builder = { ...stack.requireRuntime('testing/image-builder.js'), ...stack.requireRuntime('testing/busybox-layer.js') };
  const dir = fs.mkdtempSync(path.join('/var/tmp', 'berth-bench-'));
  const token = `berth_bench_${randomBytes(16).toString('hex')}`;
  const hostName = `bench-${randomBytes(3).toString('hex')}`;
  const running = await stack.startStack({
    dataDir: path.join(dir, 'data'),
    port: await stack.freePort(),
    adminToken: token,
    hostName,
    logDir: dir,
    env: { LOG_LEVEL: 'warn', BERTH_IMAGE_REMOVAL_GRACE_MS: '500' },
  });
  try {
    await stack.waitForHost(running.api.url, token, hostName, running.worker.child);
    const tar = await builder.buildImageArchive({
      format: 'oci',
      images: [{ references: ['busybox:latest'], layers: [await builder.busyboxLayer()], config: { cmd: ['sh'] } }],
    });
    const load = await fetch(`${running.api.url}/v1/images/load`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-tar' },
      body: tar,
    });
    const { operation } = await load.json();
    const done = await (
      await fetch(`${running.api.url}/v1/operations/${operation.id}/wait?timeout=60`, { headers: { authorization: `Bearer ${token}` } })
    ).json();
    if (done.status !== 'succeeded') throw new Error(`image load failed: ${JSON.stringify(done.error)}`);

    const bundle = path.join(dir, 'bundle');
    fs.mkdirSync(bundle);
    prepareBundle(bundle);

    process.stdout.write(`Berth benchmark: ${RUNS} runs each after ${WARMUP} warm-up runs, ${os.cpus().length} CPUs, ${os.release()}\n\n`);
    const raw = summary('raw runc run (prepared bundle)', timeRawRunc(bundle));
    const api = summary('Berth API create→exited (busybox true)', await timeApi(running.api.url, token));
    const bare = summary('  the same with networkMode none', await timeApi(running.api.url, token, { networkMode: 'none' }));
    const rows = [raw, api, bare];
    const hasDocker = stack.have('dockerd') && stack.have('docker');
    process.stdout.write(`${'what'.padEnd(44)}${'p50'.padStart(11)}${'p95'.padStart(11)}${'mean'.padStart(11)}\n`);
    for (const r of rows) process.stdout.write(`${r.name.padEnd(44)}${fmt(r.p50)}${fmt(r.p95)}${fmt(r.mean)}\n`);
    process.stdout.write(
      `\nratio Berth/raw runc: p50 ${(api.p50 / raw.p50).toFixed(2)}x, p95 ${(api.p95 / raw.p95).toFixed(2)}x (networkMode none: p50 ${(bare.p50 / raw.p50).toFixed(2)}x; raw runc has no network)\n`,
    );

    const registryServer = stack.requireRuntime('testing/local-registry.js');
    const registry = await registryServer.startRegistry();
    try {
      const pulls = await timePulls(running.api.url, token, builder, registry);
      const mib = (pulls.bytes / 1024 / 1024).toFixed(0);
      const rawPull = summary(`fetch + hash of the blobs (${mib} MiB)`, pulls.raw);
      const cold = summary(`Berth pull, cold (${PULL_LAYERS + 1} layers)`, pulls.cold);
      const warm = summary('Berth pull, warm (layers present)', pulls.warm);
      process.stdout.write(`\npull from a registry on loopback, ${PULL_RUNS} runs each\n`);
      for (const r of [rawPull, cold, warm]) process.stdout.write(`${r.name.padEnd(44)}${fmt(r.p50)}${fmt(r.p95)}${fmt(r.mean)}\n`);
      process.stdout.write(`\nratio cold pull/raw fetch: p50 ${(cold.p50 / rawPull.p50).toFixed(2)}x; warm/cold: p50 ${(warm.p50 / cold.p50).toFixed(2)}x\n`);
    } finally {
      await registry.stop();
    }
    const bulk = 256 * 1024 * 1024;
    const net = await benchAcrossHosts(Math.max(RUNS * 10, 100), bulk);
    const local = summary('one host (bridge)', net.local.rtt);
    const remote = summary('two hosts (bridge, VXLAN, bridge)', net.remote.rtt);
    process.stdout.write(`\nTCP connect + 1-byte exchange between containers of one network, ${local.runs} runs each (MTU ${net.mtu})\n`);
    for (const r of [local, remote]) process.stdout.write(`${r.name.padEnd(44)}${fmt(r.p50)}${fmt(r.p95)}${fmt(r.mean)}\n`);
    const rate = (b) => (b.bytes / 1024 / 1024 / (b.ms / 1000)).toFixed(0);
    process.stdout.write(`bulk transfer of ${bulk / 1024 / 1024} MiB: one host ${rate(net.local.bulk)} MiB/s, two hosts ${rate(net.remote.bulk)} MiB/s\n`);
    process.stdout.write(
      `ratio two hosts/one host: round trip p50 ${(remote.p50 / local.p50).toFixed(2)}x, throughput ${(net.remote.bulk.ms / net.local.bulk.ms).toFixed(2)}x the time\n\n`,
    );
    process.stdout.write(
      hasDocker ? 'dockerd is installed but no image is loaded into it here: docker baseline skipped\n' : 'dockerd is not installed: docker baseline skipped\n',
    );
  } finally {
    await running.stop();
    await stack.removeLeftoverContainers(path.join(dir, 'data', 'worker', 'runtime'));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
