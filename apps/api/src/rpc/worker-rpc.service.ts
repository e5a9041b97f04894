import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import {
  LogLine,
  LogParams,
  RpcRequest,
  SerializedError,
  UnavailableError,
  deserializeError,
  hostRpcKey,
  rpcAliveKey,
  rpcReplyKey,
} from '@berth/domain';
import { RedisConnections } from '../queue/redis.provider';

/** How long a worker has to answer before the host counts as unavailable. */
const FIRST_REPLY_TIMEOUT_MS = 10_000;
const ALIVE_TTL_SEC = 15;

/**
 * Reads that stream from a host (logs), over connections the worker opened itself:
 * the API pushes a request on the host's list, the worker answers on a stream of
 * its own, and the API keeps an `alive` key fresh while its caller listens.
 */
@Injectable()
export class WorkerRpc {
  constructor(private readonly redis: RedisConnections) {}

  async *logs(hostName: string, containerId: string, params: LogParams, signal?: AbortSignal): AsyncGenerator<LogLine[]> {
    const id = randomBytes(12).toString('hex');
    const request: RpcRequest = { id, method: 'logs', containerId, params };
    const reply = rpcReplyKey(id);
    const alive = rpcAliveKey(id);
    const reader = this.redis.duplicate();
    const keepAlive = setInterval(() => void this.redis.client.set(alive, '1', 'EX', ALIVE_TTL_SEC).catch(() => undefined), 5000);
    const onAbort = () => reader.disconnect();
    signal?.addEventListener('abort', onAbort);
    try {
      await this.redis.client.set(alive, '1', 'EX', ALIVE_TTL_SEC);
      await this.redis.client.lpush(hostRpcKey(hostName), JSON.stringify(request));
      let last = '0-0';
      let answered = false;
      const startedAt = Date.now();
      while (!signal?.aborted) {
        const res = (await reader.xread('COUNT', 100, 'BLOCK', 2000, 'STREAMS', reply, last).catch((err) => {
          if (signal?.aborted) return null;
          throw err;
        })) as [string, [string, string[]][]][] | null;
        if (!res) {
          if (!answered && Date.now() - startedAt > FIRST_REPLY_TIMEOUT_MS) {
            throw new UnavailableError(`host ${hostName} did not answer; is its worker running?`, 'HostNotAnswering');
          }
          continue;
        }
        for (const [entryId, fields] of res[0][1]) {
          last = entryId;
          answered = true;
          const entry = fieldsToObject(fields);
          if (entry.t === 'data') yield JSON.parse(entry.d) as LogLine[];
          else if (entry.t === 'error') throw deserializeError(JSON.parse(entry.e) as SerializedError);
          else if (entry.t === 'end') return;
        }
      }
    } finally {
      clearInterval(keepAlive);
      signal?.removeEventListener('abort', onAbort);
      this.redis.release(reader);
      await this.redis.client.del(alive, reply).catch(() => undefined);
    }
  }
}

function fieldsToObject(fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]] = fields[i + 1];
  return out;
}
