import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BerthClient } from '@berth/sdk';
import { E2E_MAIN_WORKER_ENV, e2eEnv } from './e2e-env';
import { sdkClient } from './sdk';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../scripts/lib/stack.cjs');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startPostgres } = require('../../scripts/lib/postgres.cjs') as {
  startPostgres(options: { dir: string; port: number }): { url: string; stop(): void };
};

export interface ClusterApi {
  url: string;
  port: number;
  child: ChildProcess;
}

/**
 * Berth scaled out on this machine, beside the shared e2e stack: its own
 * PostgreSQL, Redis and worker, and several API processes on them, each on its
 * own port. Its networks use their own pool, so nothing it makes meets the
 * shared stack's.
 */
export class Cluster {
  readonly apis: ClusterApi[] = [];
  private worker?: ChildProcess;

  private constructor(
    readonly name: string,
    readonly dataDir: string,
    private readonly logDir: string,
    readonly adminToken: string,
    readonly hostName: string,
    readonly redisUrl: string,
    /** Empty on SQLite (the API's data dir holds the database). */
    readonly databaseUrl: string,
    private readonly secret: string,
    private readonly stops: (() => Promise<void> | void)[],
  ) {}

  /**
   * Starts Redis, `apis` API processes (the first applies the migrations) and a
   * worker, on a private PostgreSQL, or on SQLite (the embedded default; one API).
   */
  static async start(name: string, { apis = 2, database = 'postgres' }: { apis?: number; database?: 'postgres' | 'sqlite' } = {}): Promise<Cluster> {
    if (database === 'sqlite' && apis !== 1) throw new Error('SQLite serves one API process');
    const dataDir = mkdtempSync(`/var/tmp/berth-${name}-`);
    const logDir = join(e2eEnv().logDir, name);
    mkdirSync(logDir, { recursive: true });
    const stops: (() => Promise<void> | void)[] = [];
    try {
      let databaseUrl = '';
      if (database === 'postgres') {
        const pg = startPostgres({ dir: mkdtempSync('/var/tmp/berth-pg-'), port: await stack.freePort() });
        stops.push(() => pg.stop());
        databaseUrl = pg.url;
      }
      const redis = await stack.startRedis({ dir: join(dataDir, 'redis'), logFile: join(logDir, 'redis.log') });
      stops.push(() => stack.stopProcess(redis.child));
      const cluster = new Cluster(
        name,
        dataDir,
        logDir,
        `berth_${name}_${randomBytes(16).toString('hex')}`,
        `${name}-${randomBytes(3).toString('hex')}`,
        redis.url,
        databaseUrl,
        randomBytes(32).toString('base64url'),
        stops,
      );
      for (let i = 0; i < apis; i++) await cluster.startApi(i);
      await cluster.startWorker();
      return cluster;
    } catch (err) {
      for (const stop of stops.reverse()) await stop();
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Starts API process `i` (again, on the port it had, when it ran before) and waits until it is ready. */
  async startApi(i: number): Promise<ClusterApi> {
    const port = this.apis[i]?.port ?? (await stack.freePort());
    const env = {
      REDIS_URL: this.redisUrl,
      ...(this.databaseUrl ? { DATABASE_URL: this.databaseUrl } : {}),
      BERTH_DATA_DIR: join(this.dataDir, `api-${i}`),
      BERTH_SECRET: this.secret,
      BERTH_ADMIN_TOKEN: this.adminToken,
      BERTH_LISTEN_HOST: '127.0.0.1',
      BERTH_NETWORK_POOL: '10.219.0.0/16',
      LOG_LEVEL: 'info',
    };
    const api = await stack.startApi({ env, port, logFile: join(this.logDir, `api-${i}.log`) });
    this.apis[i] = { url: api.url, port, child: api.child };
    return this.apis[i];
  }

  /** Ends API process `i` with `signal` (SIGKILL: no shutdown at all) and waits until it is gone. */
  async stopApi(i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.apis[i]?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    if (signal === 'SIGTERM') await stack.stopProcess(child);
    else child.kill(signal);
    await gone;
  }

  private async startWorker(): Promise<void> {
    const env = {
      REDIS_URL: this.redisUrl,
      BERTH_DATA_DIR: this.dataDir,
      // Bulk bytes (uploaded image tars) are fetched from the first API, where tests upload them.
      BERTH_API_URL: this.apis[0].url,
      BERTH_HOST_NAME: this.hostName,
      ...E2E_MAIN_WORKER_ENV,
    };
    const worker = await stack.startWorker({ env, logFile: join(this.logDir, 'worker.log') });
    this.worker = worker.child;
    this.stops.push(async () => {
      await stack.stopProcess(worker.child);
      await stack.removeLeftoverContainers(join(this.dataDir, 'worker', 'runtime'));
    });
    await stack.waitForHost(this.apis[0].url, this.adminToken, this.hostName, worker.child);
  }

  /** An SDK client of API process `i`, checked against the document like every e2e client. */
  client(token: string, i = 0): BerthClient {
    return sdkClient(token, { baseUrl: this.apis[i].url });
  }

  /**
   * An SDK client that sends each request to the next API process in turn: the
   * same client, the same token, a different replica every time.
   */
  alternating(token: string): BerthClient & { calls: number[] } {
    const calls: number[] = [];
    let next = 0;
    const first = new URL(this.apis[0].url);
    const fetchNext: typeof fetch = async (input, init) => {
      const i = next++ % this.apis.length;
      calls.push(i);
      const request = input instanceof Request ? input : new Request(input, init);
      const url = new URL(request.url);
      if (url.host === first.host) url.host = new URL(this.apis[i].url).host;
      const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer();
      return fetch(url, { method: request.method, headers: request.headers, body, signal: request.signal, redirect: request.redirect });
    };
    return Object.assign(sdkClient(token, { baseUrl: this.apis[0].url, fetch: fetchNext }), { calls });
  }

  /** Stops everything in reverse order and removes what the cluster left on the host and on disk. */
  async stop(): Promise<void> {
    for (let i = this.apis.length - 1; i >= 0; i--) await this.stopApi(i);
    for (const stop of this.stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        process.stderr.write(`[cluster ${this.name}] clean-up: ${(err as Error).message}\n`);
      }
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  get workerPid(): number | undefined {
    return this.worker?.pid;
  }
}
