import { readFileSync } from 'node:fs';
import {
  BerthProblem,
  createContainer,
  createVolume,
  deleteContainer,
  deleteVolume,
  getContainer,
  getContainerLogs,
  getHealth,
  getOpenApiDocument,
  getOperation,
  listContainers,
  listHosts,
  listImages,
  listNetworks,
  listVolumes,
  loadImage,
  waitContainer,
  waitOperation,
} from '@berth/sdk';
import { env, uniqueName } from './support/api-client';
import { ContractValidator } from './support/contract';
import { sdkClient } from './support/sdk';

/**
 * The document cannot lie about what the server sends: every answer of these
 * flows goes through the SDK client of test/support/sdk.ts, which checks status,
 * media type and body against openapi/openapi.json (and so does every other e2e
 * test that speaks through it).
 */
describe('the contract against the real server', () => {
  const client = sdkClient(env.adminToken);

  beforeAll(async () => {
    const loaded = await loadImage({ client, body: new Blob([readFileSync(env.busyboxOciTar)]), headers: { 'Content-Type': 'application/x-tar' } });
    const op = await waitOperation({ client, path: { id: loaded.data.operation.id }, query: { timeout: 120 } });
    expect(op.data.status).toBe('succeeded');
  });

  it('runs a container’s life through the SDK, every answer as documented', async () => {
    const name = uniqueName('contract');
    const created = await createContainer({
      client,
      body: { image: 'busybox', name, cmd: ['sh', '-c', 'echo one; echo two >&2'], labels: { suite: 'contract' } },
    });
    expect(created.response.status).toBe(202);
    expect(created.response.headers.get('location')).toBe(`/v1/operations/${created.data.operation.id}`);
    expect(created.data.container).toMatchObject({ name, status: 'pending', labels: { suite: 'contract' } });

    const op = await waitOperation({ client, path: { id: created.data.operation.id }, query: { timeout: 60 } });
    expect(op.data).toMatchObject({ status: 'succeeded', kind: 'container.create', targetId: created.data.container.id });
    expect((await getOperation({ client, path: { id: op.data.id } })).data.status).toBe('succeeded');

    const exited = await waitContainer({ client, path: { id: name }, query: { condition: 'exited', timeout: 60 } });
    expect(exited.data).toMatchObject({ met: true, status: 'exited', exitCode: 0 });
    const got = await getContainer({ client, path: { id: name } });
    expect(got.data).toMatchObject({ id: created.data.container.id, status: 'exited', exitCode: 0, pid: null });

    const text = await getContainerLogs({ client, path: { id: name }, query: { stderr: false }, parseAs: 'text' });
    expect(text.data).toBe('one\n');
    const nd = await getContainerLogs({ client, path: { id: name }, query: { format: 'ndjson' }, parseAs: 'text' });
    const lines = String(nd.data)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { stream: string; line: string });
    expect(lines.map((l) => `${l.stream}:${l.line}`).sort()).toEqual(['stderr:two', 'stdout:one']);

    const page = await listContainers({ client, query: { limit: 500 } });
    expect(page.data.items.map((c) => c.name)).toContain(name);

    const deleted = await deleteContainer({ client, path: { id: name } });
    expect((await waitOperation({ client, path: { id: deleted.data.operation.id }, query: { timeout: 60 } })).data.status).toBe('succeeded');
    const gone = await getContainer({ client, path: { id: name } }).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(BerthProblem);
    expect(gone).toMatchObject({ status: 404, reason: 'ContainerNotFound' });
  });

  it('answers lists, volumes, health and the document itself as documented', async () => {
    expect((await listHosts({ client })).data.items.map((h) => h.name)).toContain(env.hostName);
    expect((await listImages({ client })).data.items.some((i) => i.references.includes('docker.io/library/busybox:latest'))).toBe(true);
    expect(Array.isArray((await listNetworks({ client })).data.items)).toBe(true);
    const volume = await createVolume({ client, body: { name: uniqueName('vol').toLowerCase() } });
    expect(volume.response.status).toBe(201);
    expect((await listVolumes({ client })).data.items.map((v) => v.id)).toContain(volume.data.id);
    await deleteVolume({ client, path: { id: volume.data.id } });
    expect((await getHealth({ client })).data.status).toBe('ok');
    const document = await getOpenApiDocument({ client });
    const checkedIn = JSON.parse(readFileSync(`${__dirname}/../openapi/openapi.json`, 'utf8')) as Record<string, unknown>;
    expect({ ...document.data, servers: undefined }).toEqual({ ...checkedIn, servers: undefined });
  });

  it('serves the reference UI at /docs, from this process, over the same document', async () => {
    // Raw fetch: a browser's page and its assets, not an API call.
    const page = await fetch(`${env.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/<title>Berth API<\/title>/);
    const assets = [...html.matchAll(/(?:src|href)="\.?\/?([^"]+\.(?:js|css))"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      expect(asset).not.toMatch(/^https?:/);
      expect((await fetch(`${env.url}/docs/${asset.replace(/^docs\//, '')}`)).status).toBe(200);
    }
    const served = (await (await fetch(`${env.url}/docs/openapi.json`)).json()) as Record<string, unknown>;
    const checkedIn = JSON.parse(readFileSync(`${__dirname}/../openapi/openapi.json`, 'utf8')) as Record<string, unknown>;
    expect({ ...served, servers: undefined }).toEqual({ ...checkedIn, servers: undefined });
  });

  it('throws a BerthProblem naming the field for a bad request, itself as documented', async () => {
    const bad = await createContainer({ client, body: { image: 'busybox', cmd: 'echo' as unknown as string[] } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BerthProblem);
    const problem = bad as BerthProblem;
    expect(problem.status).toBe(400);
    expect(problem.fieldError('cmd')).toMatch(/cmd/);
    expect(problem.requestId).toBeTruthy();
  });

  it('the check itself fails on an answer the document does not describe', () => {
    const contract = new ContractValidator();
    expect(contract.check('GET', '/v1/containers/{id}', 200, 'application/json', { json: { id: 'ctr_1' } }).join('\n')).toMatch(/must have required property/);
    expect(contract.check('GET', '/v1/containers/{id}', 418, 'application/json', { json: {} })[0]).toMatch(/does not list/);
    expect(contract.check('GET', '/v1/containers/{id}', 404, 'application/json', { json: {} })[0]).toMatch(/application\/problem\+json/);
    expect(contract.check('GET', '/v1/nowhere', 200, 'application/json', { json: {} })[0]).toMatch(/not in the document/);
    expect(
      contract.check('GET', '/v1/containers/{id}/logs', 200, 'application/x-ndjson', { lines: [{ stream: 'stdout', time: 'x', line: 1 }] }).length,
    ).toBeGreaterThan(0);
  });
});
