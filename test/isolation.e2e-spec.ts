import { TeamClient, admin, api, env, uniqueName } from './support/api-client';

describe('teams and tokens', () => {
  let other: TeamClient;

  beforeAll(async () => {
    const res = await admin.post('/v1/teams', { name: uniqueName('team').toLowerCase() }).expect(201);
    expect(res.body.token).toMatch(/^berth_/);
    other = new TeamClient(res.body.token);
  });

  it('refuses requests without a valid token with 401 problem+json', async () => {
    const none = await api().get('/v1/containers').expect(401);
    expect(none.headers['content-type']).toMatch(/application\/problem\+json/);
    await api().get('/v1/containers').set('Authorization', 'Bearer berth_not-a-real-token').expect(401);
  });

  it('hides one team’s containers and operations from another (404, empty lists)', async () => {
    await admin.loadImage(env.busyboxOciTar);
    const name = uniqueName('private');
    const created = await admin.post('/v1/containers', { image: 'busybox', cmd: ['sleep', '1000'], name }).expect(202);
    const id = created.body.container.id;
    expect((await admin.waitOperation(created.body.operation.id)).status).toBe('succeeded');

    await other.get(`/v1/containers/${id}`).expect(404);
    await other.get(`/v1/containers/${name}`).expect(404);
    await other.get(`/v1/operations/${created.body.operation.id}`).expect(404);
    await other.post(`/v1/containers/${id}/stop`).expect(404);
    await other.delete(`/v1/containers/${id}?force=true`).expect(404);
    expect((await other.get('/v1/containers').expect(200)).body.items).toEqual([]);
    expect((await other.get(`/v1/containers/${id}/logs`)).status).toBe(404);
    // The other team has not loaded busybox: the name does not reach the admin team's image.
    const theirs = await other.post('/v1/containers', { image: 'busybox', cmd: ['true'], pullPolicy: 'never' }).expect(202);
    expect((await other.waitOperation(theirs.body.operation.id)).error?.reason).toBe('ImageNotFound');
    // A team may reuse a name another team holds.
    await other.post('/v1/containers', { image: 'busybox', cmd: ['true'], name, start: false, pullPolicy: 'never' }).expect(202);

    expect((await admin.get(`/v1/containers/${id}`).expect(200)).body.status).toBe('running');
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  });

  it('lets only admins create teams', async () => {
    const res = await other.post('/v1/teams', { name: uniqueName('nope').toLowerCase() }).expect(403);
    expect(res.body.status).toBe(403);
  });
});
