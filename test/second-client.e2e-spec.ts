import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Client from './.generated/berth-client';
import { e2eEnv } from './support/e2e-env';

// The client is generated from the checked-in document on every run, before it is loaded.
execFileSync(process.execPath, [join(__dirname, '..', 'scripts', 'generate-second-client.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
// eslint-disable-next-line @typescript-eslint/no-require-imports
const berth = require('./.generated/berth-client') as typeof Client;

/** Narrows a generated response union to one status, or fails with what came back. */
function expectStatus<R extends { status: number; data?: unknown }, S extends R['status']>(res: R, status: S): Extract<R, { status: S }> {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.data)}`);
  return res as Extract<R, { status: S }>;
}

/**
 * A client from a second generator (oazapfts) runs a container's whole life against the
 * real stack, with nothing but its generated functions: what they cannot say, the
 * document does not say.
 */
describe('the oazapfts client', () => {
  const env = e2eEnv();

  beforeAll(async () => {
    // The document lists no servers: the base URL is the caller's to give.
    berth.defaults.baseUrl = env.url;
    berth.defaults.headers = { Authorization: `Bearer ${env.adminToken}` };
    const loaded = expectStatus(await berth.loadImage(new Blob([readFileSync(env.busyboxOciTar)], { type: 'application/x-tar' })), 202);
    const op = expectStatus(await berth.waitOperation(loaded.data.operation.id, { timeout: 120 }), 200);
    expect(op.data.status).toBe('succeeded');
  });

  it('creates, waits, reads the logs of and deletes a container', async () => {
    const created = expectStatus(await berth.createContainer({ image: 'busybox', cmd: ['sh', '-c', 'echo hi'] }), 202);
    const { container, operation } = created.data;
    expect(created.headers.get('location')).toBe(`/v1/operations/${operation.id}`);
    expect(container).toMatchObject({ image: 'docker.io/library/busybox:latest', status: 'pending' });
    expect(operation).toMatchObject({ kind: 'container.create', targetKind: 'container', targetId: container.id });

    const done = expectStatus(await berth.waitOperation(operation.id, { timeout: 60 }), 200);
    expect(done.data).toMatchObject({ id: operation.id, status: 'succeeded' });

    const exited = expectStatus(await berth.waitContainer(container.id, { condition: 'exited', timeout: 60 }), 200);
    expect(exited.data).toMatchObject({ condition: 'exited', met: true, status: 'exited', exitCode: 0 });

    // Text lines by default (the ndjson form is typed as LogLine; the runtime parses by the answer's media type).
    const logs = await berth.getContainerLogs(container.id);
    expect(logs).toMatchObject({ status: 200, data: 'hi\n' });
    expect(logs.headers.get('content-type')).toMatch(/^text\/plain/);

    const deleted = expectStatus(await berth.deleteContainer(container.id), 202);
    expect(deleted.data.container.id).toBe(container.id);
    const removed = expectStatus(await berth.waitOperation(deleted.data.operation.id, { timeout: 60 }), 200);
    expect(removed.data.status).toBe('succeeded');

    const gone = expectStatus(await berth.getContainer(container.id), 404);
    expect(gone.data).toMatchObject({ status: 404, reason: 'ContainerNotFound' });
    expect(gone.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
