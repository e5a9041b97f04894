#!/usr/bin/env node
/**
 * The README's commands: `npm start` (Berth on its embedded defaults) and `npm test`.
 * Both first make the machine ready: system packages, npm dependencies, a build.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// Node built-ins only, so it works before npm install.
const { have: haveCommand } = require('./lib/stack.cjs');

/** Commands Berth needs, and the Debian package that brings each. */
const SYSTEM_PACKAGES = [
  { cmd: 'runc', pkg: 'runc' },
  { cmd: 'conmon', pkg: 'conmon' },
  { cmd: 'redis-server', pkg: 'redis-server' },
  { cmd: '/bin/busybox', pkg: 'busybox-static' },
  { cmd: 'setfattr', pkg: 'attr' },
  { cmd: 'mount', pkg: 'mount' },
  // Container networking: the standard CNI plugins, and the tools they and the worker call.
  { cmd: '/usr/lib/cni/bridge', pkg: 'containernetworking-plugins' },
  { cmd: 'iptables', pkg: 'iptables' },
  { cmd: 'ip', pkg: 'iproute2' },
];
/** A Distribution registry for the image tests and the pull benchmark, on loopback. */
const REGISTRY_PACKAGE = { cmd: 'docker-registry', pkg: 'docker-registry' };
/** Only the tests need these: the migrations run on a private PostgreSQL too. */
const TEST_PACKAGES = [
  { cmd: 'runuser', pkg: 'util-linux' },
  REGISTRY_PACKAGE,
  { cmd: 'htpasswd', pkg: 'apache2-utils' },
  {
    check: () =>
      fs.existsSync('/usr/lib/postgresql') && fs.readdirSync('/usr/lib/postgresql').some((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)),
    pkg: 'postgresql',
  },
];

function say(msg) {
  process.stdout.write(`[berth] ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`[berth] ${msg}\n`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...opts });
  if (r.error) fail(`${cmd} could not run: ${r.error.message}`);
  return r.status ?? 1;
}

function ensureSystemPackages(packages) {
  const missing = packages.filter((p) => !(p.check ? p.check() : haveCommand(p.cmd))).map((p) => p.pkg);
  if (!missing.length) return;
  if (process.getuid?.() !== 0 || !haveCommand('apt-get')) {
    fail(`missing system packages: ${missing.join(' ')}. Install them (Debian: apt-get install ${missing.join(' ')}) and run again.`);
  }
  say(`installing system packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (run('apt-get', ['update'], { env }) !== 0) fail('apt-get update failed');
  if (run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env }) !== 0) fail(`apt-get install ${missing.join(' ')} failed`);
}

/** Docker's default seccomp profile, as Debian ships it inside Docker's Go sources. */
export const SECCOMP_PROFILE = '/usr/share/berth/seccomp/default.json';
const SECCOMP_PACKAGE = 'golang-github-docker-docker-dev';
const SECCOMP_MEMBER = './usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json';

/**
 * The worker applies Docker's default seccomp profile to every container. The
 * package that carries it would pull in hundreds of Go source packages, so only
 * that one file is taken out of it (apt-get download, dpkg-deb, tar).
 */
function ensureSeccompProfile() {
  if (fs.existsSync(SECCOMP_PROFILE)) return;
  if (process.getuid?.() !== 0 || !haveCommand('apt-get')) fail(`missing ${SECCOMP_PROFILE} (Docker's default seccomp profile); see docs/isolation.md`);
  say(`fetching Docker's default seccomp profile from Debian's ${SECCOMP_PACKAGE}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-seccomp-'));
  try {
    if (run('apt-get', ['download', SECCOMP_PACKAGE], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] }) !== 0) {
      if (run('apt-get', ['update']) !== 0 || run('apt-get', ['download', SECCOMP_PACKAGE], { cwd: tmp }) !== 0)
        fail(`apt-get download ${SECCOMP_PACKAGE} failed`);
    }
    const deb = fs.readdirSync(tmp).find((f) => f.endsWith('.deb'));
    const tar = spawnSync('dpkg-deb', ['--fsys-tarfile', path.join(tmp, deb)], { maxBuffer: 512 * 1024 * 1024 });
    if (tar.status !== 0) fail(`dpkg-deb could not read ${deb}`);
    fs.writeFileSync(path.join(tmp, 'data.tar'), tar.stdout);
    if (run('tar', ['-xf', path.join(tmp, 'data.tar'), '-C', tmp, SECCOMP_MEMBER]) !== 0) fail(`${deb} has no ${SECCOMP_MEMBER}`);
    const profile = fs.readFileSync(path.join(tmp, SECCOMP_MEMBER), 'utf8');
    JSON.parse(profile); // refuse a damaged file before installing it
    fs.mkdirSync(path.dirname(SECCOMP_PROFILE), { recursive: true });
    fs.writeFileSync(SECCOMP_PROFILE, profile);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function newestMtime(dir, skip = new Set(['node_modules', 'dist', '.git', '.berth'])) {
  let newest = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (skip.has(e.name)) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') || e.name.endsWith('.json')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  walk(dir);
  return newest;
}

function ensureDependencies() {
  const marker = path.join(ROOT, 'node_modules', '.package-lock.json');
  const lock = path.join(ROOT, 'package-lock.json');
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  say('installing npm dependencies');
  // The lock lists every platform's optional binaries, so npm ci installs exactly what was tested.
  if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) fail('npm ci failed');
}

function ensureBuild() {
  const stamp = path.join(ROOT, 'dist', '.built');
  const sources = Math.max(...['apps', 'libs', 'migrations'].map((d) => newestMtime(path.join(ROOT, d))));
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs >= sources) return;
  say('building');
  if (run('npm', ['run', 'build']) !== 0) fail('the build failed');
  fs.writeFileSync(stamp, new Date().toISOString());
}

function prepare(extraPackages = []) {
  if (process.platform !== 'linux') fail('Berth runs containers with runc: it needs Linux.');
  if (process.getuid?.() !== 0) fail('Berth’s worker runs containers and must run as root (try sudo).');
  ensureSystemPackages([...SYSTEM_PACKAGES, ...extraPackages]);
  ensureSeccompProfile();
  ensureDependencies();
  ensureBuild();
}

async function start() {
  prepare();
  const stack = require('./lib/stack.cjs');
  const dataDir = path.resolve(process.env.BERTH_DATA_DIR ?? path.join(ROOT, '.berth'));
  const port = Number(process.env.PORT ?? 8080);
  say(`data dir ${dataDir}`);
  const running = await stack.startStack({
    dataDir,
    port,
    adminToken: process.env.BERTH_ADMIN_TOKEN,
    redisUrl: process.env.REDIS_URL,
    hostName: process.env.BERTH_HOST_NAME ?? 'local',
  });
  const url = running.api.url;
  say(`API      ${url}/v1`);
  say(`docs     ${url}/docs   (OpenAPI: ${url}/openapi.json)`);
  say(`redis    ${running.redisUrl}${process.env.REDIS_URL ? '' : ' (private)'}`);
  say(process.env.BERTH_ADMIN_TOKEN ? 'admin token: the value of BERTH_ADMIN_TOKEN' : 'admin token: printed by the API above on the first start only');
  say(
    `a busybox image to load: node scripts/build-busybox-image.mjs busybox.tar && curl -H "Authorization: Bearer $TOKEN" --data-binary @busybox.tar -H 'Content-Type: application/x-tar' ${url}/v1/images/load`,
  );
  say('Ctrl-C stops everything (containers keep running under conmon until deleted).');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping');
    await running.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  for (const child of [running.api.child, running.worker.child]) {
    child.on('exit', (code) => {
      if (!stopping) {
        process.stderr.write(`[berth] a process exited (code ${code}); stopping the rest\n`);
        void stop();
      }
    });
  }
}

/** The checks that keep the code's shape, before any test runs: types (specs included), lint, format, the OpenAPI document. */
const CHECKS = [
  // A second generator (oazapfts) writes a client from the document; the types check compiles it with the specs that use it.
  ['client', ['scripts/generate-second-client.mjs']],
  ['types', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['lint', ['node_modules/eslint/bin/eslint.js', '.']],
  ['format', ['node_modules/prettier/bin/prettier.cjs', '--check', '--log-level', 'warn', '.']],
  // The checked-in contract matches the code (regenerate with npm run openapi).
  ['contract', ['dist/apps/api/apps/api/src/openapi-sync.js', '--check']],
  // The SDK's generated half is what the document gives (regenerate with npm run sdk).
  ['sdk', ['scripts/sdk.mjs', '--check']],
  // It is a valid OpenAPI document (swagger-parser), with unique operationIds.
  ['openapi', ['scripts/check-openapi.mjs', 'validate']],
  // Redocly's recommended rules and Berth's own (redocly.yaml) find nothing, not even a warning.
  ['contract lint', ['scripts/check-openapi.mjs', 'lint']],
  // Its breaking changes since the newest release (openapi/released/) are announced in docs/api-changes.md.
  ['breaking changes', ['scripts/check-openapi.mjs', 'breaking']],
];

function test() {
  prepare(TEST_PACKAGES);
  for (const [name, args] of CHECKS) {
    say(`checking ${name}`);
    if (run(process.execPath, args) !== 0) fail(`the ${name} check failed`);
  }
  const results = path.join(ROOT, 'dist', 'jest-results.json');
  fs.rmSync(results, { force: true });
  const status = run(process.execPath, [
    path.join(ROOT, 'node_modules/jest/bin/jest.js'),
    '--runInBand',
    '--json',
    `--outputFile=${results}`,
    ...process.argv.slice(3),
  ]);
  if (fs.existsSync(results)) {
    const r = JSON.parse(fs.readFileSync(results, 'utf8'));
    process.stdout.write(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped\n`);
  }
  process.exit(status);
}

function bench() {
  prepare([REGISTRY_PACKAGE]);
  process.exit(run(process.execPath, [path.join(ROOT, 'scripts/bench.mjs'), ...process.argv.slice(3)]));
}

const command = process.argv[2];
if (command === 'start') await start();
else if (command === 'test') test();
else if (command === 'bench') bench();
else fail('usage: node scripts/berth.mjs start|test|bench');
