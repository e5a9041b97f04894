import { ChildProcess, execFile, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, openSync, closeSync } from 'fs';
import { mkdtemp, readFile, rm, writeFile } from 'fs/promises';
import { createServer } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);

const REGISTRY_BINARY = '/usr/bin/docker-registry';
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const START_ATTEMPTS = 3;
const LOG_TAIL_BYTES = 4_000;

export interface RegistryServerOptions {
  /** Require HTTP basic auth with these credentials (an htpasswd file with a bcrypt hash). */
  auth?: { username: string; password: string };
}

export interface RegistryServer {
  /** `127.0.0.1:PORT`, as image references name it. */
  host: string;
  /** Its storage directory (filesystem driver root); its config and log sit beside the data. */
  root: string;
  /** The file the registry serves for a blob (to tamper with in tests). */
  blobPath(digest: string): string;
  stop(): Promise<void>;
}

/**
 * Runs a real Distribution registry (Debian's `docker-registry`) on a free
 * loopback port, with filesystem storage in a fresh temp dir, for integration
 * tests. Resolves once `/v2/` answers; stop() ends it by its pid and removes
 * the dir.
 */
export async function startRegistry(options: RegistryServerOptions = {}): Promise<RegistryServer> {
  if (!existsSync(REGISTRY_BINARY)) throw new Error(`${REGISTRY_BINARY} is missing: install the docker-registry package`);
  const root = await mkdtemp(path.join(tmpdir(), 'berth-registry-'));
  try {
    const htpasswd = options.auth ? await writeHtpasswd(root, options.auth) : undefined;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      const port = await freePort();
      try {
        const child = await launch(root, port, htpasswd);
        return server(root, `127.0.0.1:${port}`, child);
      } catch (err) {
        lastError = err as Error;
        // Another process may have taken the port between probing and binding: try another.
        if (!/address already in use/i.test(lastError.message)) break;
      }
    }
    throw lastError ?? new Error('the registry did not start');
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}

function server(root: string, host: string, child: ChildProcess): RegistryServer {
  return {
    host,
    root,
    blobPath: (digest) => {
      const hex = digest.replace(/^sha256:/, '');
      return path.join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    },
    stop: async () => {
      await terminate(child);
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function launch(root: string, port: number, htpasswd: string | undefined): Promise<ChildProcess> {
  const configPath = path.join(root, 'config.yml');
  const logPath = path.join(root, 'registry.log');
  await writeFile(configPath, registryConfig(root, port, htpasswd));
  const log = openSync(logPath, 'w');
  let child: ChildProcess;
  try {
    child = spawn(REGISTRY_BINARY, ['serve', configPath], {
      stdio: ['ignore', log, log],
      // REGISTRY_* variables would override the generated configuration.
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REGISTRY_'))),
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(`exited (${signal ?? `code ${code}`})`));
    child.once('error', (err) => resolve(`could not start: ${err.message}`));
  });
  try {
    await waitUntilReady(`http://127.0.0.1:${port}/v2/`, exited);
    return child;
  } catch (err) {
    await terminate(child);
    const tail = (await readFile(logPath, 'utf8').catch(() => '')).slice(-LOG_TAIL_BYTES);
    throw new Error(`${(err as Error).message}; its log ends:\n${tail}`, { cause: err });
  }
}

function registryConfig(storage: string, port: number, htpasswd: string | undefined): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storage)}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (htpasswd) {
    lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${JSON.stringify(htpasswd)}`);
  }
  return `${lines.join('\n')}\n`;
}

async function writeHtpasswd(root: string, auth: { username: string; password: string }): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run('htpasswd', ['-Bbn', auth.username, auth.password], { timeout: 10_000 }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('htpasswd is missing: install the apache2-utils package', { cause: err });
    throw err;
  }
  const file = path.join(root, 'htpasswd');
  await writeFile(file, `${stdout.trim()}\n`, { mode: 0o600 });
  return file;
}

/** Polls until the registry answers `/v2/` (200, or 401 when it wants a login), or it exits, or time runs out. */
async function waitUntilReady(url: string, exited: Promise<string>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let gone: string | undefined;
  void exited.then((why) => (gone = why));
  while (Date.now() < deadline) {
    if (gone) throw new Error(`the registry ${gone} before it answered ${url}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      if (response.status === 200 || response.status === 401) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the registry did not answer ${url} within ${READY_TIMEOUT_MS} ms`);
}

/** SIGTERM by pid, SIGKILL if it lingers; bounded in time. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const within = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
  signal(child.pid, 'SIGTERM');
  if (await within(STOP_TIMEOUT_MS)) return;
  signal(child.pid, 'SIGKILL');
  await within(STOP_TIMEOUT_MS);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
