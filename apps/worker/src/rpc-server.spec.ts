import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { hostRpcKey, newId, rpcReplyKey } from '@berth/domain';
import type { ContainerRuntime } from '@berth/runtime';
import { RpcServer } from './rpc-server';

/** A host's request list holding `raw`, a reply client that records, and a runtime that fails the test if touched. */
function serve(raw: string) {
  const replies: Array<[string, string[]]> = [];
  let served = false;
  const blocking = {
    brpop: async (key: string) => {
      if (served) return new Promise((r) => setTimeout(() => r(null), 20));
      served = true;
      return [key, raw];
    },
    disconnect: () => undefined,
  } as unknown as Redis;
  const client = {
    xadd: async (key: string, _id: string, ...fields: string[]) => void replies.push([key, fields]),
    expire: async () => 1,
    exists: async () => 1,
  } as unknown as Redis;
  const touched: string[] = [];
  const runtime = new Proxy({}, { get: (_t, prop) => (prop === 'name' ? 'fake' : () => void touched.push(String(prop))) }) as unknown as ContainerRuntime;
  const warnings: unknown[] = [];
  const log = { warn: (o: unknown) => void warnings.push(o) } as unknown as Logger;
  const server = new RpcServer(blocking, client, runtime, 'h1', log);
  return { server, replies, touched, warnings };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('RpcServer', () => {
  const id = 'a1b2c3d4e5f6a1b2c3d4e5f6';

  it('answers a malformed request with an error reply naming the field, and never acts on it', async () => {
    const { server, replies, touched } = serve(
      JSON.stringify({ id, method: 'exec', containerId: newId('container'), params: { cmd: 'rm -rf /', timeoutSec: 5 } }),
    );
    server.start();
    await until(() => replies.length > 0);
    await server.stop();
    expect(replies).toHaveLength(1);
    const [key, fields] = replies[0];
    expect(key).toBe(rpcReplyKey(id));
    expect(fields.slice(0, 3)).toEqual(['t', 'error', 'e']);
    expect(JSON.parse(fields[3])).toEqual({
      class: 'InvalidArgument',
      reason: 'MalformedRequest',
      message: expect.stringMatching(/^malformed rpc request: params.cmd: /),
    });
    expect(touched).toEqual([]);
  });

  it('drops a request with no id it may answer on (or not JSON), logging it', async () => {
    for (const raw of [JSON.stringify({ id: '../../berth:events', method: 'stats', containerId: 'ctr_x' }), '{not json']) {
      const { server, replies, touched, warnings } = serve(raw);
      server.start();
      await until(() => warnings.length > 0);
      await server.stop();
      expect(replies).toEqual([]);
      expect(touched).toEqual([]);
      expect(warnings).toEqual([expect.objectContaining({ err: expect.objectContaining({ reason: 'MalformedRequest' }) })]);
    }
  });

  it('runs a well-formed request', async () => {
    const { server, replies, touched } = serve(JSON.stringify({ id, method: 'stats', containerId: newId('container') }));
    server.start();
    await until(() => replies.length >= 2);
    await server.stop();
    expect(touched).toEqual(['stats']);
    expect(replies.map(([, f]) => f[1])).toEqual(['start', 'result']);
    expect(hostRpcKey('h1')).toBe('berth:rpc:h1');
  });
});
