import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  ExportRequest,
  FailedPreconditionError,
  InvalidArgumentError,
  LogLine,
  LogsRequest,
  RpcRequest,
  TtyInput,
  TtyRequest,
  parseRpcRequest,
  parseTtyInput,
  rpcInputKey,
  hostRpcKey,
  rpcAliveKey,
  rpcReplyKey,
  serializeError,
} from '@berth/domain';
import type { ContainerRuntime, ImageStore } from '@berth/runtime';
import type { VolumeStore } from './volume-store';

const BATCH_LINES = 500;
const FLUSH_MS = 50;
const REPLY_TTL_SEC = 60;
const MAX_CONCURRENT = 64;
const EXPORT_CHUNK_BYTES = 256 * 1024;
const EXPORT_WINDOW = 16;
/** What a request id may look like before it names a reply key (the schema's rule). */
const REQUEST_ID = /^[a-zA-Z0-9_-]{8,64}$/;

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
    private readonly images?: Pick<ImageStore, 'export'>,
    private readonly volumes?: Pick<VolumeStore, 'usage'>,
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
        const request = await this.check(item[1]);
        if (!request) continue;
        this.active++;
        void this.handle(request).finally(() => this.active--);
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err: (err as Error).message }, 'rpc: waiting for requests failed');
        await sleep(1000);
      }
    }
  }

  /**
   * The request as the catalogue reads it, or undefined: a malformed one is never
   * acted on, and gets an error reply when it names a request id to answer on.
   */
  private async check(raw: string): Promise<RpcRequest | undefined> {
    let data: unknown;
    try {
      data = JSON.parse(raw);
      return parseRpcRequest(data);
    } catch (err) {
      const error = err instanceof SyntaxError ? new InvalidArgumentError(`malformed rpc request: not JSON (${err.message})`, [], 'MalformedRequest') : err;
      const id = (data as { id?: unknown } | undefined)?.id;
      const replyTo = typeof id === 'string' && REQUEST_ID.test(id) ? id : undefined;
      this.log.warn({ err: serializeError(error), requestId: replyTo }, 'rpc: malformed request refused');
      if (replyTo) {
        const reply = rpcReplyKey(replyTo);
        await this.client.xadd(reply, '*', 't', 'error', 'e', JSON.stringify(serializeError(error))).catch(() => undefined);
        await this.client.expire(reply, REPLY_TTL_SEC).catch(() => undefined);
      }
      return undefined;
    }
  }

  private async handle(request: RpcRequest): Promise<void> {
    if (request.method === 'logs') return this.streamLogs(request);
    if (request.method === 'tty') return this.streamTty(request);
    if (request.method === 'export') return this.streamExport(request);
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

  /**
   * An interactive exec: output goes back on the reply stream in small batches,
   * keystrokes and resizes come in on the request's input list, and the process is
   * killed when the caller goes away.
   */
  private async streamTty(request: TtyRequest): Promise<void> {
    const reply = rpcReplyKey(request.id);
    const abort = new AbortController();
    const watchdog = this.watchCaller(request.id, abort);
    const input = this.client.duplicate();
    let pending = '';
    let writing = Promise.resolve();
    const flush = () => {
      if (!pending) return writing;
      const chunk = pending;
      pending = '';
      writing = writing.then(() => this.client.xadd(reply, '*', 't', 'data', 'd', chunk).then(() => undefined));
      return writing;
    };
    const timer = setInterval(() => void flush(), 20);
    try {
      if (!this.runtime.execTty) throw new FailedPreconditionError(`the ${this.runtime.name} runtime cannot run a process with a terminal`, 'NotSupported');
      const session = await this.runtime.execTty(request.containerId, request.params);
      await this.client.xadd(reply, '*', 't', 'start');
      await this.client.expire(reply, REPLY_TTL_SEC);
      session.onData((chunk) => {
        pending += chunk;
        if (pending.length > 64 * 1024) void flush();
      });
      abort.signal.addEventListener('abort', () => session.kill());
      let ended = false;
      void session.exited.finally(() => (ended = true));
      // Bounded by the session: it ends when the process exits or the caller goes away.
      while (!ended && !abort.signal.aborted) {
        const item = await input.blpop(rpcInputKey(request.id), 1);
        if (!item) continue;
        let message: TtyInput;
        try {
          message = parseTtyInput(JSON.parse(item[1]));
        } catch (err) {
          this.log.warn({ err: (err as Error).message, requestId: request.id }, 'rpc: malformed terminal input dropped');
          continue;
        }
        if (message.t === 'in') session.write(message.d);
        else if (message.t === 'resize') session.resize(message.cols, message.rows);
        else session.kill();
      }
      const code = await session.exited;
      await flush();
      await this.client.xadd(reply, '*', 't', 'end', 'c', String(code));
    } catch (err) {
      await flush().catch(() => undefined);
      await this.client.xadd(reply, '*', 't', 'error', 'e', JSON.stringify(serializeError(err))).catch(() => undefined);
    } finally {
      clearInterval(timer);
      clearInterval(watchdog);
      input.disconnect();
      await this.client.expire(reply, REPLY_TTL_SEC).catch(() => undefined);
    }
  }

  /**
   * A tar of stored images, in binary chunks. The API deletes chunks as it reads
   * them; while the stream holds EXPORT_WINDOW of them the tar waits, so a slow
   * download never piles up in Redis.
   */
  private async streamExport(request: ExportRequest): Promise<void> {
    const reply = rpcReplyKey(request.id);
    const abort = new AbortController();
    const watchdog = this.watchCaller(request.id, abort);
    try {
      if (!this.images) throw new FailedPreconditionError('this worker has no image store', 'NotSupported');
      const tar = await this.images.export(request.images);
      abort.signal.addEventListener('abort', () => tar.destroy());
      await this.client.xadd(reply, '*', 't', 'start');
      await this.client.expire(reply, REPLY_TTL_SEC);
      let pending: Buffer[] = [];
      let size = 0;
      const send = async () => {
        if (!size) return;
        const chunk = Buffer.concat(pending, size);
        pending = [];
        size = 0;
        // Bounded by the caller: the watchdog aborts when it goes away.
        while (!abort.signal.aborted && (await this.client.xlen(reply)) >= EXPORT_WINDOW) await sleep(10);
        if (abort.signal.aborted) throw new Error('the caller went away');
        await this.client.xadd(reply, '*', 't', 'data', 'bin', chunk);
        await this.client.expire(reply, REPLY_TTL_SEC);
      };
      for await (const chunk of tar as AsyncIterable<Buffer>) {
        pending.push(chunk);
        size += chunk.length;
        if (size >= EXPORT_CHUNK_BYTES) await send();
      }
      await send();
      await this.client.xadd(reply, '*', 't', 'end');
    } catch (err) {
      if (!abort.signal.aborted) await this.client.xadd(reply, '*', 't', 'error', 'e', JSON.stringify(serializeError(err))).catch(() => undefined);
    } finally {
      clearInterval(watchdog);
      await this.client.expire(reply, REPLY_TTL_SEC).catch(() => undefined);
    }
  }

  private answer(request: Exclude<RpcRequest, LogsRequest | TtyRequest | ExportRequest>): Promise<unknown> {
    switch (request.method) {
      case 'exec':
        return this.runtime.exec(request.containerId, request.params);
      case 'stats':
        return this.runtime.stats(request.containerId);
      case 'top':
        return this.runtime.top(request.containerId);
      case 'volume.usage':
        if (!this.volumes) throw new FailedPreconditionError('this worker keeps no volumes', 'NotSupported');
        return this.volumes.usage(request.volumeId);
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
