'use strict';
/**
 * Starts and stops Berth's processes: a private redis-server on a unix socket, the
 * API and a worker. Used by `npm start`, the end-to-end tests and the benchmark,
 * so all three run Berth the same way. Only Node built-ins here.
 */
const { execFileSync, spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const API_MAIN = path.join(ROOT, 'dist/apps/api/apps/api/src/main.js');
const WORKER_MAIN = path.join(ROOT, 'dist/apps/worker/apps/worker/src/main.js');

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it answers true, at most `timeoutMs`. */
async function waitUntil(what, probe, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < deadline; i++) {
    if (child && child.exitCode !== null) throw new Error(`${what}: the process exited with code ${child.exitCode}`);
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    await sleep(Math.min(50 * (i + 1), 500));
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function pingUnixRedis(socket) {
  return new Promise((resolve) => {
    const c = net.createConnection(socket);
    let data = '';
    c.setTimeout(1000, () => {
      c.destroy();
      resolve(false);
    });
    c.on('error', () => resolve(false));
    c.on('data', (d) => {
      data += d;
      if (data.includes('\r\n')) {
        c.end();
        resolve(data.startsWith('+PONG'));
      }
    });
    c.write('PING\r\n');
  });
}

/** Opens a log file for a child's stdout/stderr, or inherits the terminal. */
function stdio(logFile) {
  if (!logFile) return ['ignore', 'inherit', 'inherit'];
  const fd = fs.openSync(logFile, 'a');
  return ['ignore', fd, fd];
}

async function startRedis({ dir, logFile }) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const socket = path.join(dir, 'redis.sock');
  fs.rmSync(socket, { force: true });
  const args = ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'];
  const child = spawn('redis-server', args, { stdio: stdio(logFile) });
  await waitUntil('redis-server', () => pingUnixRedis(socket), 15000, child);
  return { child, url: `unix://${socket}` };
}

async function startApi({ env, port, logFile }) {
  if (!fs.existsSync(API_MAIN)) throw new Error(`${API_MAIN} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [API_MAIN], { env: { ...process.env, ...env, PORT: String(port) }, stdio: stdio(logFile) });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('the API', async () => (await fetch(`${url}/readyz`)).ok, 60000, child);
  return { child, url };
}

async function startWorker({ env, logFile }) {
  if (!fs.existsSync(WORKER_MAIN)) throw new Error(`${WORKER_MAIN} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [WORKER_MAIN], { env: { ...process.env, ...env }, stdio: stdio(logFile) });
  return { child };
}

/** Waits until the API lists `hostName` as ready (the worker's first heartbeat arrived). */
async function waitForHost(apiUrl, token, hostName, child) {
  await waitUntil(
    `host ${hostName}`,
    async () => {
      const res = await fetch(`${apiUrl}/v1/hosts/${hostName}`, { headers: { authorization: `Bearer ${token}` } });
      return res.ok && (await res.json()).status === 'ready';
    },
    60000,
    child,
  );
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
async function stopProcess(child, graceMs = 10000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** A secret kept in the data dir, created on first use. */
function persistentSecret(dataDir, name) {
  const file = path.join(dataDir, name);
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const value = randomBytes(32).toString('base64url');
  fs.writeFileSync(file, value + '\n', { mode: 0o600 });
  return value;
}

/**
 * The whole stack on one machine: Redis (unless redisUrl is given), the API and a
 * worker, all under `dataDir`. Returns handles and a `stop()` that ends them in reverse.
 */
async function startStack({ dataDir, port, adminToken, redisUrl, hostName, logDir, env = {} }) {
  fs.mkdirSync(dataDir, { recursive: true });
  const log = (name) => (logDir ? path.join(logDir, `${name}.log`) : undefined);
  const started = [];
  const stop = async () => {
    for (const child of started.reverse()) await stopProcess(child);
  };
  try {
    let redis;
    if (!redisUrl) {
      // Redis talks a lot at start-up: its log goes to a file even when the others inherit the terminal.
      redis = await startRedis({ dir: path.join(dataDir, 'redis'), logFile: log('redis') ?? path.join(dataDir, 'redis', 'redis.log') });
      started.push(redis.child);
      redisUrl = redis.url;
    }
    const common = { REDIS_URL: redisUrl, BERTH_DATA_DIR: dataDir, ...env };
    const apiEnv = { ...common, BERTH_SECRET: process.env.BERTH_SECRET || persistentSecret(dataDir, 'secret') };
    if (adminToken) apiEnv.BERTH_ADMIN_TOKEN = adminToken;
    const api = await startApi({ env: apiEnv, port, logFile: log('api') });
    started.push(api.child);
    const worker = await startWorker({ env: { ...common, BERTH_API_URL: api.url, BERTH_HOST_NAME: hostName }, logFile: log('worker') });
    started.push(worker.child);
    return { redisUrl, api, worker, redis, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Whether a command is on PATH (or an absolute path that exists). */
function have(cmd) {
  if (cmd.startsWith('/')) return fs.existsSync(cmd);
  const dirs = (process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  return dirs.some((d) => {
    try {
      fs.accessSync(path.join(d, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A module of libs/runtime as the worker's build compiled it (setup scripts run outside Jest's module mapping). */
function requireRuntime(relative) {
  const file = path.join(ROOT, 'dist/apps/worker/libs/runtime/src', relative);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return require(file);
}

/** Removes every container a test or bench run left under a worker's runtime root. */
/**
 * Removes the containers a stopped worker left (runtime root `<worker>/runtime`),
 * then everything its networking recorded (`<worker>/networks`): namespaces,
 * bridges, veths and iptables rules (in `hostNetns` when the worker's host side
 * was there). Only what that worker's state names.
 */
async function removeLeftoverContainers(runtimeRoot, { hostNetns } = {}) {
  if (!fs.existsSync(runtimeRoot)) return;
  const { RuncRuntime } = requireRuntime('index.js');
  const runtime = new RuncRuntime({ root: runtimeRoot });
  for (const c of await runtime.list()) await runtime.remove(c.id, { force: true });
  await runtime.close();
  const networksDir = path.join(path.dirname(runtimeRoot), 'networks');
  if (!fs.existsSync(networksDir)) return;
  const { HostNetworks } = requireRuntime('index.js');
  const report = await new HostNetworks({ stateDir: networksDir, ...(hostNetns ? { hostNetns } : {}) }).reconcile({ containers: [], bridges: [] });
  if (report.errors.length) process.stderr.write(`[berth] network clean-up: ${report.errors.join('; ')}\n`);
}

/**
 * Two "hosts" on this machine for networks that span hosts: network namespaces
 * bhost<tag>a and bhost<tag>b joined by a veth pair (bu<tag>a, bu<tag>b), their
 * underlay, at 10.214.0.1 and 10.214.0.2 (only inside these namespaces). `remove()`
 * deletes both namespaces and everything made in them.
 */
function hostPair(tag) {
  const ip = (...args) => execFileSync('ip', args, { stdio: 'pipe' });
  const hosts = ['a', 'b'].map((h, i) => ({
    ns: `bhost${tag}${h}`,
    netns: `/var/run/netns/bhost${tag}${h}`,
    link: `bu${tag}${h}`,
    address: `10.214.0.${i + 1}`,
  }));
  const remove = () => {
    for (const h of hosts) runIgnoringFailure('ip', ['netns', 'delete', h.ns]);
  };
  try {
    for (const h of hosts) ip('netns', 'add', h.ns);
    ip('link', 'add', hosts[0].link, 'netns', hosts[0].ns, 'type', 'veth', 'peer', 'name', hosts[1].link, 'netns', hosts[1].ns);
    for (const h of hosts) {
      ip('-n', h.ns, 'addr', 'add', `${h.address}/24`, 'dev', h.link);
      ip('-n', h.ns, 'link', 'set', h.link, 'up');
      ip('-n', h.ns, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    remove();
    throw err;
  }
  return { hosts, remove };
}

function runIgnoringFailure(cmd, args) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

module.exports = {
  requireRuntime,
  removeLeftoverContainers,
  ROOT,
  API_MAIN,
  WORKER_MAIN,
  startStack,
  startRedis,
  startApi,
  startWorker,
  waitForHost,
  stopProcess,
  freePort,
  waitUntil,
  have,
  sleep,
  persistentSecret,
  hostPair,
};
