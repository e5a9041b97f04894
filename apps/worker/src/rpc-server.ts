import type { Redis } from 'ioredis';
import { LogLine, LogsRequest, RpcRequest, hostRpcKey, rpcAliveKey, rpcReplyKey, serializeError } from '@berth/domain';
import type { ContainerRuntime } from '@berth/runtime';
import type { Logger } from 'pino';

const BATCH_LINES = 500;
const FLUSH_MS = 50;
const REPLY_TTL_SEC = 60;
const MAX_CONCURRENT = 64;

/**
 * Answers the API's streaming reads (logs) over Redis: requests arrive on this
 * host's list, answers go to a stream per request. A follow ends when the
 * container exits or when the API stops refreshing the request's `alive` key.
 */
export class RpcServer {
  private stopped = false;
  private active = 0;
  private loop?: Promise<void>;

  constructor(
    private readonly blocking: Redis,
    private readonly client: Redis,
    private readonly runtime: ContainerRuntime,
    private readonly hostName: string,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.active >= MAX_CONCURRENT) {
          await sleep(50);
          continue;
        }
        const item = await this.blocking.brpop(hostRpcKey(this.hostName), 2);
        if (!item) continue;
        const request = JSON.parse(item[1]) as RpcRequest;
        this.active++;
        void this.handle(request).finally(() => this.active--);
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err: (err as Error).message }, 'rpc: waiting for requests failed');
        await sleep(1000);
      }
    }
  }

  private async handle(request: RpcRequest): Promise<void> {
    if (request.method === 'logs') return this.streamLogs(request);
    const reply = rpcReplyKey(request.id);
    const abort = new AbortController();
    const watchdog = this.watchCaller(request.id, abort);
    try {
      await this.client.xadd(reply, '*', 't', 'start');
      await this.client.expire(reply, REPLY_TTL_SEC);
      const result = await this.answer(request);
      await this.client.xadd(reply, '*', 't', 'result', 'r', JSON.stringify(result));
    } catch (err) {
      await this.client.xadd(reply, '*', 't', 'error', 'e', JSON.stringify(serializeError(err))).catch(() => undefined);
    } finally {
      clearInterval(watchdog);
      await this.client.expire(reply, REPLY_TTL_SEC).catch(() => undefined);
    }
  }

  private answer(request: Exclude<RpcRequest, LogsRequest>): Promise<unknown> {
    switch (request.method) {
      case 'exec':
        return this.runtime.exec(request.containerId, request.params);
      case 'stats':
        return this.runtime.stats(request.containerId);
      case 'top':
        return this.runtime.top(request.containerId);
    }
  }

  /** Aborts when the API stops refreshing the request's `alive` key (its caller went away). */
  private watchCaller(id: string, abort: AbortController): NodeJS.Timeout {
    return setInterval(async () => {
      if (!(await this.client.exists(rpcAliveKey(id)).catch(() => 0))) abort.abort();
    }, 2000);
  }

  private async streamLogs(request: LogsRequest): Promise<void> {
    const reply = rpcReplyKey(request.id);
    const abort = new AbortController();
    let batch: LogLine[] = [];
    let writing = Promise.resolve();
    const flush = () => {
      if (!batch.length) return writing;
      const lines = batch;
      batch = [];
      writing = writing.then(() => this.client.xadd(reply, '*', 't', 'data', 'd', JSON.stringify(lines)).then(() => undefined));
      return writing;
    };
    const timer = setInterval(() => void flush(), FLUSH_MS);
    const watchdog = this.watchCaller(request.id, abort);
    try {
      await this.client.xadd(reply, '*', 't', 'start');
      await this.client.expire(reply, REPLY_TTL_SEC);
      for await (const line of this.runtime.logs(request.containerId, { ...request.params, signal: abort.signal })) {
        batch.push(line);
        if (batch.length >= BATCH_LINES) await flush();
      }
      await flush();
      await this.client.xadd(reply, '*', 't', 'end');
    } catch (err) {
      await flush().catch(() => undefined);
      if (!abort.signal.aborted) await this.client.xadd(reply, '*', 't', 'error', 'e', JSON.stringify(serializeError(err))).catch(() => undefined);
    } finally {
      clearInterval(timer);
      clearInterval(watchdog);
      await this.client.expire(reply, REPLY_TTL_SEC).catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.blocking.disconnect();
    await this.loop;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
