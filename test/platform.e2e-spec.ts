import { getHealth, getHost, getImage, getOpenApiDocument, getReadiness, listImages, loadImage } from '@berth/sdk';
import { api, env } from './support/api-client';
import { adminSdk, finished, loadImageTar } from './support/sdk';

const client = adminSdk();

describe('the platform around the containers', () => {
  it('answers health and readiness (database and Redis)', async () => {
    expect((await getHealth({ client })).response.status).toBe(200);
    const ready = await getReadiness({ client });
    expect(ready.response.status).toBe(200);
    expect(ready.data).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
  });

  it('publishes an OpenAPI 3 document where every operation has an id, a tag and its errors', async () => {
    const doc = (await getOpenApiDocument({ client })).data as Record<string, any>;
    expect(doc.openapi).toMatch(/^3\./);
    const ops = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, op })),
    );
    expect(ops.length).toBeGreaterThanOrEqual(15);
    for (const { path, method, op } of ops) {
      expect({ path, method, operationId: typeof op.operationId }).toEqual({ path, method, operationId: 'string' });
      expect(op.tags?.length).toBeGreaterThan(0);
      const codes = Object.keys(op.responses);
      expect(codes.some((c) => c.startsWith('2'))).toBe(true);
      if (path.startsWith('/v1/')) expect(codes).toContain('401');
    }
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['createContainer', 'getContainerLogs', 'waitOperation', 'loadImage']));
    expect(doc.components.schemas.ContainerStatus.enum).toContain('running');
    // Raw: /docs is an HTML page (and a redirect) beside the API, not an operation of the document.
    expect((await api().get('/docs').redirects(1).expect(200)).text).toContain('swagger');
  });

  it('loads a docker save tar too and lists the image with its config', async () => {
    const op = await loadImageTar(client, env.busyboxDockerTar);
    expect(op.status).toBe('succeeded');
    const images = (await listImages({ client })).data.items;
    const classic = images.find((i) => i.references.includes('docker.io/library/busybox-classic:1.0'));
    expect(classic).toBeDefined();
    expect(classic!.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(classic!.tags).toContain('busybox-classic:1.0');
    expect(classic!.config.cmd).toEqual(['sh']);
    const byRef = (await getImage({ client, path: { ref: 'busybox-classic:1.0' } })).data;
    expect(byRef.id).toBe(classic!.id);
  });

  it('refuses a tar that is not an image, failing the operation and keeping nothing', async () => {
    const res = await loadImage({ client, body: new Blob([Buffer.alloc(2048, 7)]), headers: { 'Content-Type': 'application/x-tar' } });
    expect(res.response.status).toBe(202);
    const op = await finished(client, res.data.operation.id);
    expect(op.status).toBe('failed');
    expect(op.error?.class).toBe('InvalidArgument');
  });

  it('lists the worker’s host as ready with its runtime versions', async () => {
    const host = (await getHost({ client, path: { id: env.hostName } })).data;
    expect(host).toMatchObject({ name: env.hostName, status: 'ready', runtime: 'runc' });
    expect(host.runcVersion).toMatch(/\d+\.\d+/);
    expect(host.conmonVersion).toMatch(/\d+\.\d+/);
    expect(host.cpus).toBeGreaterThan(0);
  });
});
