#!/usr/bin/env node
/**
 * `npm run bench`: the latency of create→exited through the API for busybox `true`,
 * next to a raw `runc run` of a prepared bundle measured in the same run, and the
 * ratio between them. BENCH_RUNS sets the number of measured runs (default 30).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const stack = require('./lib/stack.cjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = 3;

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(name, values) {
  return { name, runs: values.length, p50: percentile(values, 50), p95: percentile(values, 95), mean: values.reduce((a, b) => a + b, 0) / values.length };
}

async function timeApi(base, token) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const call = async (method, url, body) => {
    const res = await fetch(`${base}${url}`, { method, headers, body: body && JSON.stringify(body) });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const times = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const t0 = performance.now();
    const created = await call('POST', '/v1/containers', { image: 'busybox', cmd: ['true'] });
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

function fmt(ms) {
  return `${ms.toFixed(1).padStart(8)} ms`;
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the benchmark runs containers and needs root');
  const builder = stack.requireRuntime('images/image-builder.js');
  const dir = fs.mkdtempSync(path.join('/var/tmp', 'berth-bench-'));
  const token = `berth_bench_${randomBytes(16).toString('hex')}`;
  const hostName = `bench-${randomBytes(3).toString('hex')}`;
  const running = await stack.startStack({ dataDir: path.join(dir, 'data'), port: await stack.freePort(), adminToken: token, hostName, logDir: dir, env: { LOG_LEVEL: 'warn' } });
  try {
    await stack.waitForHost(running.api.url, token, hostName, running.worker.child);
    const tar = await builder.buildImageArchive({ format: 'oci', images: [{ references: ['busybox:latest'], layers: [await builder.busyboxLayer()], config: { cmd: ['sh'] } }] });
    const load = await fetch(`${running.api.url}/v1/images/load`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-tar' }, body: tar });
    const { operation } = await load.json();
    const done = await (await fetch(`${running.api.url}/v1/operations/${operation.id}/wait?timeout=60`, { headers: { authorization: `Bearer ${token}` } })).json();
    if (done.status !== 'succeeded') throw new Error(`image load failed: ${JSON.stringify(done.error)}`);

    const bundle = path.join(dir, 'bundle');
    fs.mkdirSync(bundle);
    prepareBundle(bundle);

    process.stdout.write(`Berth benchmark: ${RUNS} runs each after ${WARMUP} warm-up runs, ${os.cpus().length} CPUs, ${os.release()}\n\n`);
    const raw = summary('raw runc run (prepared bundle)', timeRawRunc(bundle));
    const api = summary('Berth API create→exited (busybox true)', await timeApi(running.api.url, token));
    const rows = [raw, api];
    const hasDocker = stack.have('dockerd') && stack.have('docker');
    process.stdout.write(`${'what'.padEnd(44)}${'p50'.padStart(11)}${'p95'.padStart(11)}${'mean'.padStart(11)}\n`);
    for (const r of rows) process.stdout.write(`${r.name.padEnd(44)}${fmt(r.p50)}${fmt(r.p95)}${fmt(r.mean)}\n`);
    process.stdout.write(`\nratio Berth/raw runc: p50 ${(api.p50 / raw.p50).toFixed(2)}x, p95 ${(api.p95 / raw.p95).toFixed(2)}x\n`);
    process.stdout.write(hasDocker ? 'dockerd is installed but no image is loaded into it here: docker baseline skipped\n' : 'dockerd is not installed: docker baseline skipped\n');
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
