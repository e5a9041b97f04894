import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import IORedis, { Redis } from 'ioredis';
import {
  LogLine,
  NotFoundError,
  RpcRequest,
  UnavailableError,
  hostRpcKey,
  newId,
  parseRpcRequest,
  redisOptionsFromUrl,
  rpcAliveKey,
  rpcReplyKey,
  serializeError,
} from '@berth/domain';
import { RedisConnections } from '../common/redis';
import type { ApiConfig } from '../config';
import { WorkerRpc } from './worker-rpc.service';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../../../scripts/lib/stack.cjs');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms`, so a read that never ends fails the test instead of hanging it. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Polls `probe` every 20 ms until it answers true, at most `ms`. */
async function until(what: string, probe: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(20);
  }
  throw new Error(`${what}: not after ${ms} ms`);
}

/** The first byte of an entry's `bin` field (the chunk's index here), or -1 without one. */
function binIndex(fields: Buffer[]): number {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i].toString() === 'bin') return fields[i + 1][0];
  return -1;
}

const containerId = newId('container');
const logParams = { stdout: true, stderr: true, follow: true };
const line = (n: number): LogLine => ({ stream: n % 2 ? 'stderr' : 'stdout', time: new Date(1_700_000_000_000 + n).toISOString(), line: `line ${n}` });

/**
 * WorkerRpc against a real Redis, answered by a small worker written here that
 * speaks the protocol of apps/worker/src/rpc-server.ts: it pops the host's request
 * list, reads the request as the catalogue does, and writes the reply stream.
 */
describe('WorkerRpc (real Redis, an in-test worker)', () => {
  const dir = mkdtempSync('/var/tmp/berth-rpc-');
  let redis: { child: { kill(): void }; url: string };
  let connections: RedisConnections;
  let rpc: WorkerRpc;
  /** The worker's connections: one for the blocking pop, one for its commands. */
  let blocking: Redis;
  let client: Redis;

  beforeAll(async () => {
    redis = await stack.startRedis({ dir: join(dir, 'redis'), logFile: join(dir, 'redis.log') });
    connections = new RedisConnections({ redisUrl: redis.url } as ApiConfig);
    rpc = new WorkerRpc(connections);
    const options = { ...redisOptionsFromUrl(redis.url), maxRetriesPerRequest: null };
    blocking = new IORedis(options);
    client = new IORedis(options);
  });

  afterAll(async () => {
    blocking?.disconnect();
    await client?.quit().catch(() => undefined);
    await connections?.onApplicationShutdown();
    await stack.stopProcess(redis?.child);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Takes the next request for `host` (within 5 s) and hands it to `answer` with its reply stream's key. */
  async function serveOne(host: string, answer: (request: RpcRequest, reply: string) => Promise<void>): Promise<RpcRequest> {
    const item = await blocking.brpop(hostRpcKey(host), 5);
    if (!item) throw new Error(`no request for ${host} within 5 s`);
    const request = parseRpcRequest(JSON.parse(item[1]));
    await answer(request, rpcReplyKey(request.id));
    return request;
  }

  it('call: sends a request the catalogue accepts, with its alive key set, and returns the result; then cleans up', async () => {
    const host = newId('host');
    let aliveAtPop = 0;
    const result = { exitCode: 0, stdout: 'hi\n', stderr: '', truncated: false };
    const worker = serveOne(host, async (request, reply) => {
      aliveAtPop = await client.exists(rpcAliveKey(request.id));
      await client.xadd(reply, '*', 't', 'start');
      await client.xadd(reply, '*', 't', 'result', 'r', JSON.stringify(result));
    });
    const answer = rpc.call(host, { method: 'exec', containerId, params: { cmd: ['echo', 'hi'], timeoutSec: 5 } }, 5000);
    await expect(within(8000, 'call', answer)).resolves.toEqual(result);
    const request = await worker;
    expect(request).toMatchObject({ method: 'exec', containerId, params: { cmd: ['echo', 'hi'], timeoutSec: 5 } });
    expect(request.id).toMatch(/^[0-9a-f]{24}$/);
    expect(aliveAtPop).toBe(1);
    expect(await client.exists(rpcAliveKey(request.id), rpcReplyKey(request.id))).toBe(0);
  });

  it("call: the worker's error reply is thrown as the domain error it names", async () => {
    const host = newId('host');
    const worker = serveOne(host, async (_request, reply) => {
      await client.xadd(reply, '*', 't', 'start');
      const err = new NotFoundError(`container ${containerId} is not on this host`, 'ContainerNotFound');
      await client.xadd(reply, '*', 't', 'error', 'e', JSON.stringify(serializeError(err)));
    });
    const answer = rpc.call(host, { method: 'stats', containerId }, 5000);
    await expect(within(8000, 'call', answer)).rejects.toBeInstanceOf(NotFoundError);
    await expect(answer).rejects.toMatchObject({ reason: 'ContainerNotFound', message: `container ${containerId} is not on this host` });
    await worker;
  });

  it('call: times out with HostNotAnswering when nobody answers, and leaves no keys of its own behind', async () => {
    const host = newId('host');
    const started = Date.now();
    const answer = rpc.call(host, { method: 'top', containerId }, 800);
    await expect(within(5000, 'call', answer)).rejects.toBeInstanceOf(UnavailableError);
    await expect(answer).rejects.toMatchObject({ reason: 'HostNotAnswering', message: `host ${host} did not answer within 1 s` });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(790);
    expect(elapsed).toBeLessThan(3000);
    // The request waits on the host's list for a worker; its alive key is gone, so a late worker drops it.
    const [raw] = await client.lrange(hostRpcKey(host), 0, -1);
    const { id } = parseRpcRequest(JSON.parse(raw));
    expect(await client.exists(rpcAliveKey(id), rpcReplyKey(id))).toBe(0);
    await client.del(hostRpcKey(host));
  });

  it('logs: yields every batch in order until the end entry', async () => {
    const host = newId('host');
    const worker = serveOne(host, async (request, reply) => {
      expect(request).toMatchObject({ method: 'logs', containerId, params: logParams });
      await client.xadd(reply, '*', 't', 'start');
      await client.xadd(reply, '*', 't', 'data', 'd', JSON.stringify([line(1), line(2)]));
      await sleep(50);
      await client.xadd(reply, '*', 't', 'data', 'd', JSON.stringify([line(3)]));
      await client.xadd(reply, '*', 't', 'end');
      // Written after the end: never read.
      await client.xadd(reply, '*', 't', 'data', 'd', JSON.stringify([line(4)]));
    });
    const batches: LogLine[][] = [];
    await within(
      8000,
      'logs',
      (async () => {
        for await (const batch of rpc.logs(host, containerId, logParams)) batches.push(batch);
      })(),
    );
    await worker;
    expect(batches).toEqual([[line(1), line(2)], [line(3)]]);
  });

  it('logs: an error reply mid-stream ends the read with that error, after the batches before it', async () => {
    const host = newId('host');
    const worker = serveOne(host, async (_request, reply) => {
      await client.xadd(reply, '*', 't', 'start');
      await client.xadd(reply, '*', 't', 'data', 'd', JSON.stringify([line(1)]));
      await client.xadd(reply, '*', 't', 'error', 'e', JSON.stringify({ class: 'Unavailable', reason: 'RuntimeDown', message: 'conmon went away' }));
    });
    const batches: LogLine[][] = [];
    const reading = (async () => {
      for await (const batch of rpc.logs(host, containerId, logParams)) batches.push(batch);
    })();
    await expect(within(8000, 'logs', reading)).rejects.toMatchObject({ errorClass: 'Unavailable', reason: 'RuntimeDown', message: 'conmon went away' });
    await worker;
    expect(batches).toEqual([[line(1)]]);
  });

  it('logs: keeps the alive key fresh while the caller reads, and deletes it when the caller stops', async () => {
    const host = newId('host');
    let requestId = '';
    const worker = serveOne(host, async (request, reply) => {
      requestId = request.id;
      await client.xadd(reply, '*', 't', 'start');
      await client.xadd(reply, '*', 't', 'data', 'd', JSON.stringify([line(1)]));
      // A follow: nothing more for now.
    });
    const stream = rpc.logs(host, containerId, logParams);
    await expect(within(8000, 'first batch', stream.next())).resolves.toEqual({ done: false, value: [line(1)] });
    await worker;
    const alive = rpcAliveKey(requestId);
    const ttl = await client.ttl(alive);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(15);

    // Listening on: shorten the key's life; the API's refresh (every 5 s) must renew it.
    const waiting = stream.next();
    await client.expire(alive, 3);
    await sleep(5500);
    expect(await client.ttl(alive)).toBeGreaterThan(5);

    // The caller stops: more data arrives, it is taken, then the caller goes away.
    await client.xadd(rpcReplyKey(requestId), '*', 't', 'data', 'd', JSON.stringify([line(2)]));
    await expect(within(5000, 'second batch', waiting)).resolves.toEqual({ done: false, value: [line(2)] });
    await expect(stream.return(undefined)).resolves.toEqual({ done: true, value: undefined });
    expect(await client.exists(alive, rpcReplyKey(requestId))).toBe(0);
    // No refresh brings it back.
    await sleep(5500);
    expect(await client.exists(alive)).toBe(0);
  });

  it('logs: an abort while the read is blocked ends the stream and lets the alive key go', async () => {
    const host = newId('host');
    let requestId = '';
    const worker = serveOne(host, async (request, reply) => {
      requestId = request.id;
      await client.xadd(reply, '*', 't', 'start');
    });
    const controller = new AbortController();
    const batches: LogLine[][] = [];
    const reading = (async () => {
      for await (const batch of rpc.logs(host, containerId, logParams, controller.signal)) batches.push(batch);
    })();
    await worker;
    await until('alive key', async () => (await client.exists(rpcAliveKey(requestId))) === 1);
    await sleep(200); // the reader is now blocked on the reply stream
    controller.abort();
    await expect(within(3000, 'aborted logs', reading)).resolves.toBeUndefined();
    expect(batches).toEqual([]);
    expect(await client.exists(rpcAliveKey(requestId), rpcReplyKey(requestId))).toBe(0);
  });

  it("exportImages: binary chunks arrive in order, each deleted from the stream once read, within the worker's window", async () => {
    const host = newId('host');
    const WINDOW = 3;
    const chunks = Array.from({ length: 12 }, (_, i) => Buffer.concat([Buffer.from([i]), randomBytes(40_000 + i)]));
    const images = [{ digest: `sha256:${'a'.repeat(64)}`, references: ['docker.io/library/alpine:3'] }];
    let longest = 0;
    let reply = '';
    const worker = serveOne(host, async (request, replyKey) => {
      reply = replyKey;
      expect(request).toMatchObject({ method: 'export', images });
      await client.xadd(reply, '*', 't', 'start');
      for (const chunk of chunks) {
        // As the real worker does: wait while the stream holds a window of chunks (here bounded).
        await until('room in the window', async () => (await client.xlen(reply)) < WINDOW, 5000);
        await client.xadd(reply, '*', 't', 'data', 'bin', chunk);
        longest = Math.max(longest, await client.xlen(reply));
      }
      await client.xadd(reply, '*', 't', 'end');
    });
    const received: Buffer[] = [];
    const leftBehind: number[][] = [];
    await within(
      15_000,
      'export',
      (async () => {
        for await (const chunk of rpc.exportImages(host, images)) {
          received.push(chunk);
          await sleep(10); // a slow reader: the worker has to wait for room
          // What the stream still holds: never a chunk before this one.
          const entries = await client.xrangeBuffer(reply, '-', '+');
          leftBehind.push(entries.map(([, fields]) => binIndex(fields)).filter((n) => n >= 0 && n < chunk[0]));
        }
      })(),
    );
    await worker;
    expect(received.map((c) => c[0])).toEqual(chunks.map((_, i) => i));
    expect(Buffer.concat(received).equals(Buffer.concat(chunks))).toBe(true);
    expect(leftBehind.flat()).toEqual([]);
    expect(longest).toBeLessThanOrEqual(WINDOW);
  });
});
