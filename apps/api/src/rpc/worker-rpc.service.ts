import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  LogLine,
  LogParams,
  RpcRequest,
  SerializedError,
  UnavailableError,
  deserializeError,
  type ExportRequest,
  hostRpcKey,
  rpcAliveKey,
  rpcInputKey,
  rpcReplyKey,
  type TtyInput,
  type TtyRequest,
} from '@berth/domain';
import { RedisConnections } from '../common/redis';

/** How long a worker has to acknowledge a request before the host counts as unavailable. */
const FIRST_REPLY_TIMEOUT_MS = 10_000;
const ALIVE_TTL_SEC = 15;

/** A reply entry's fields; a binary stream's chunk is in `bin`. */
export type Reply = Record<string, string> & { bin?: Buffer };
/** A request without its id: the id is made here. */
type Request = RpcRequest extends infer R ? (R extends RpcRequest ? Omit<R, 'id'> : never) : never;

/**
 * Calls to a host's worker over connections the worker opened itself: the API
 * pushes a request on the host's list, the worker answers on a stream of its own,
 * and the API keeps an `alive` key fresh while its caller listens.
 */
@Injectable()
export class WorkerRpc {
  constructor(private readonly redis: RedisConnections) {}

  /** A streamed answer (logs), batch by batch. */
  async *logs(hostName: string, containerId: string, params: LogParams, signal?: AbortSignal): AsyncGenerator<LogLine[]> {
    for await (const reply of this.replies(hostName, { method: 'logs', containerId, params }, signal)) {
      if (reply.t === 'data') yield JSON.parse(reply.d) as LogLine[];
    }
  }

  /**
   * A tar of stored images from the host, chunk by chunk. Chunks are deleted from
   * the reply stream as they are read, and the worker waits while the stream is
   * full, so a slow reader holds the worker back instead of filling Redis.
   */
  async *exportImages(hostName: string, images: ExportRequest['images'], signal?: AbortSignal): AsyncGenerator<Buffer> {
    for await (const reply of this.replies(hostName, { method: 'export', images }, signal, newRequestId(), true)) {
      if (reply.t === 'data' && reply.bin) yield reply.bin;
    }
  }

  /** A single answer (exec, stats, top), within `timeoutMs`. */
  async call<T>(hostName: string, request: Request, timeoutMs: number): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      for await (const reply of this.replies(hostName, request, controller.signal)) {
        if (reply.t === 'result') return JSON.parse(reply.r) as T;
      }
      throw new UnavailableError(`host ${hostName} did not answer within ${Math.round(timeoutMs / 1000)} s`, 'HostNotAnswering');
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * An interactive exec: the worker's replies (`data` chunks, then `end` with the
   * exit code in `c`), and `send` for keystrokes and resizes.
   */
  tty(
    hostName: string,
    containerId: string,
    params: TtyRequest['params'],
    signal: AbortSignal,
  ): { replies: AsyncGenerator<Reply>; send(input: TtyInput): Promise<void> } {
    const id = newRequestId();
    const key = rpcInputKey(id);
    return {
      replies: this.replies(hostName, { method: 'tty', containerId, params }, signal, id),
      send: async (input) => {
        await this.redis.client.rpush(key, JSON.stringify(input));
        await this.redis.client.expire(key, 60);
      },
    };
  }

  /** Sends the request and yields the worker's replies up to `end`; an `error` reply is thrown as the domain error it carries. */
  private async *replies(hostName: string, request: Request, signal?: AbortSignal, id = newRequestId(), binary = false): AsyncGenerator<Reply> {
    const reply = rpcReplyKey(id);
    const alive = rpcAliveKey(id);
    const reader = this.redis.duplicate();
    const keepAlive = setInterval(() => void this.redis.client.set(alive, '1', 'EX', ALIVE_TTL_SEC).catch(() => undefined), 5000);
    const onAbort = () => reader.disconnect();
    signal?.addEventListener('abort', onAbort);
    try {
      await this.redis.client.set(alive, '1', 'EX', ALIVE_TTL_SEC);
      await this.redis.client.lpush(hostRpcKey(hostName), JSON.stringify({ ...request, id }));
      let last = '0-0';
      let answered = false;
      const startedAt = Date.now();
      while (!signal?.aborted) {
        const read = binary
          ? reader.xreadBuffer('COUNT', 8, 'BLOCK', 2000, 'STREAMS', reply, last)
          : reader.xread('COUNT', 100, 'BLOCK', 2000, 'STREAMS', reply, last);
        const res = (await read.catch((err) => {
          if (signal?.aborted) return null;
          throw err;
        })) as [unknown, [string | Buffer, (string | Buffer)[]][]][] | null;
        if (!res) {
          if (!answered && Date.now() - startedAt > FIRST_REPLY_TIMEOUT_MS) {
            throw new UnavailableError(`host ${hostName} did not answer; is its worker running?`, 'HostNotAnswering');
          }
          continue;
        }
        for (const [rawId, fields] of res[0][1]) {
          const entryId = rawId.toString();
          last = entryId;
          answered = true;
          const entry = fieldsToObject(fields);
          if (entry.t === 'error') throw deserializeError(JSON.parse(entry.e) as SerializedError);
          yield entry;
          if (binary) await this.redis.client.xdel(reply, entryId);
          if (entry.t === 'end') return;
        }
      }
    } finally {
      clearInterval(keepAlive);
      signal?.removeEventListener('abort', onAbort);
      this.redis.release(reader);
      await this.redis.client.del(alive, reply, rpcInputKey(id)).catch(() => undefined);
    }
  }
}

function newRequestId(): string {
  return randomBytes(12).toString('hex');
}

function fieldsToObject(fields: (string | Buffer)[]): Reply {
  const out: Reply = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i].toString();
    const value = fields[i + 1];
    if (name === 'bin' && Buffer.isBuffer(value)) out.bin = value;
    else out[name] = value.toString();
  }
  return out;
}
