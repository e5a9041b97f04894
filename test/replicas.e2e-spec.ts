import { createContainer, getContainer, getOperation, waitOperation } from '@berth/sdk';
import { Cluster } from './support/cluster';
import { e2eEnv } from './support/e2e-env';
import { loadImageTar } from './support/sdk';

/**
 * Two API processes on one PostgreSQL and one Redis, with one worker: what a
 * client sees must not depend on which replica answers.
 */
describe('two API replicas on PostgreSQL', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start('replicas', { apis: 2 });
    const op = await loadImageTar(cluster.client(cluster.adminToken, 0), e2eEnv().busyboxOciTar);
    expect(op.status).toBe('succeeded');
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  it('wait on one replica for an operation accepted by the other', async () => {
    const a = cluster.client(cluster.adminToken, 0);
    const b = cluster.client(cluster.adminToken, 1);
    const created = await createContainer({ client: a, body: { image: 'busybox', cmd: ['true'], networkMode: 'none' } });
    const waited = await waitOperation({ client: b, path: { id: created.data.operation.id }, query: { timeout: 60 } });
    expect(waited.data).toMatchObject({ id: created.data.operation.id, status: 'succeeded' });
    await expect(getOperation({ client: a, path: { id: created.data.operation.id } })).resolves.toMatchObject({ data: { status: 'succeeded' } });
    const seen = await getContainer({ client: b, path: { id: created.data.container.id } });
    expect(seen.data.id).toBe(created.data.container.id);
  });

  it('serve one client from both replicas in turn', async () => {
    const client = cluster.alternating(cluster.adminToken);
    const created = await createContainer({ client, body: { image: 'busybox', cmd: ['true'], networkMode: 'none' } });
    await waitOperation({ client, path: { id: created.data.operation.id }, query: { timeout: 60 } });
    await getContainer({ client, path: { id: created.data.container.id } });
    expect(new Set(client.calls)).toEqual(new Set([0, 1]));
  });
});
