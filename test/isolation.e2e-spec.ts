import {
  type BerthClient,
  createContainer,
  createTeam,
  deleteContainer,
  getContainer,
  getContainerLogs,
  getOperation,
  listContainers,
  stopContainer,
} from '@berth/sdk';
import { api, env, uniqueName } from './support/api-client';
import { adminSdk, finished, loadImageTar, problemOf, sdkClient } from './support/sdk';

const admin = adminSdk();

describe('teams and tokens', () => {
  let other: BerthClient;

  beforeAll(async () => {
    const res = await createTeam({ client: admin, body: { name: uniqueName('team').toLowerCase() } });
    expect(res.response.status).toBe(201);
    expect(res.data.token).toMatch(/^berth_/);
    other = sdkClient(res.data.token);
  });

  it('refuses requests without a valid token with 401 problem+json', async () => {
    // Raw: a missing and a bad Authorization header are what this tests.
    const none = await api().get('/v1/containers').expect(401);
    expect(none.headers['content-type']).toMatch(/application\/problem\+json/);
    await api().get('/v1/containers').set('Authorization', 'Bearer berth_not-a-real-token').expect(401);
  });

  it('hides one team’s containers and operations from another (404, empty lists)', async () => {
    await loadImageTar(admin, env.busyboxOciTar);
    const name = uniqueName('private');
    const created = await createContainer({ client: admin, body: { image: 'busybox', cmd: ['sleep', '1000'], name } });
    expect(created.response.status).toBe(202);
    const id = created.data.container.id;
    expect((await finished(admin, created.data.operation.id)).status).toBe('succeeded');

    expect((await problemOf(getContainer({ client: other, path: { id } }))).status).toBe(404);
    expect((await problemOf(getContainer({ client: other, path: { id: name } }))).status).toBe(404);
    expect((await problemOf(getOperation({ client: other, path: { id: created.data.operation.id } }))).status).toBe(404);
    expect((await problemOf(stopContainer({ client: other, path: { id } }))).status).toBe(404);
    expect((await problemOf(deleteContainer({ client: other, path: { id }, query: { force: true } }))).status).toBe(404);
    expect((await listContainers({ client: other })).data.items).toEqual([]);
    expect((await problemOf(getContainerLogs({ client: other, path: { id }, parseAs: 'text' }))).status).toBe(404);
    // The other team has not loaded busybox: the name does not reach the admin team's image.
    const theirs = await createContainer({ client: other, body: { image: 'busybox', cmd: ['true'], pullPolicy: 'never' } });
    expect(theirs.response.status).toBe(202);
    expect((await finished(other, theirs.data.operation.id)).error?.reason).toBe('ImageNotFound');
    // A team may reuse a name another team holds.
    const reused = await createContainer({ client: other, body: { image: 'busybox', cmd: ['true'], name, start: false, pullPolicy: 'never' } });
    expect(reused.response.status).toBe(202);

    expect((await getContainer({ client: admin, path: { id } })).data.status).toBe('running');
    expect((await deleteContainer({ client: admin, path: { id }, query: { force: true } })).response.status).toBe(202);
  });

  it('lets only admins create teams', async () => {
    const res = await problemOf(createTeam({ client: other, body: { name: uniqueName('nope').toLowerCase() } }));
    expect(res.status).toBe(403);
    expect(res.problem.status).toBe(403);
  });
});
