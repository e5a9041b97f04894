import { admin, env, uniqueName } from './support/api-client';

/**
 * The foundation's user story against the real stack: API, Redis, a worker and
 * runc through conmon, with a busybox image loaded through the API.
 */
describe('containers on real runc', () => {
  beforeAll(async () => {
    const op = await admin.loadImage(env.busyboxOciTar);
    expect(op.status).toBe('succeeded');
  });

  it('runs echo hello: 202, the operation succeeds, the container exits 0 and its logs say hello', async () => {
    const res = await admin.post('/v1/containers', { image: 'busybox', cmd: ['sh', '-c', 'echo hello'], name: uniqueName('hello') }).expect(202);
    expect(res.headers.location).toBe(`/v1/operations/${res.body.operation.id}`);
    expect(res.body.container).toMatchObject({ image: 'docker.io/library/busybox:latest', status: 'pending', desiredState: 'running' });
    expect(res.body.operation).toMatchObject({ kind: 'container.create', status: 'queued', targetId: res.body.container.id });

    const op = await admin.waitOperation(res.body.operation.id);
    expect(op.status).toBe('succeeded');
    const exited = await admin.waitContainer(res.body.container.id, 'exited');
    expect(exited).toMatchObject({ met: true, status: 'exited', exitCode: 0 });

    const logs = await admin.logs(res.body.container.id);
    expect(logs.status).toBe(200);
    expect(logs.text).toBe('hello\n');

    const got = await admin.get(`/v1/containers/${res.body.container.id}`).expect(200);
    expect(got.body).toMatchObject({ status: 'exited', exitCode: 0, pid: null });
    expect(Date.parse(got.body.finishedAt)).toBeGreaterThanOrEqual(Date.parse(got.body.startedAt));
  });

  it('keeps stdout and stderr apart, honours tail, and answers ndjson with timestamps', async () => {
    const id = await admin.run({ image: 'busybox', cmd: ['sh', '-c', 'echo one; echo two >&2; echo three; exit 3'] });
    const exited = await admin.waitContainer(id, 'exited');
    expect(exited.exitCode).toBe(3);
    expect((await admin.logs(id, 'stderr=false')).text).toBe('one\nthree\n');
    expect((await admin.logs(id, 'stdout=false')).text).toBe('two\n');
    expect((await admin.logs(id, 'tail=1&stderr=false')).text).toBe('three\n');
    expect((await admin.logs(id, 'tail=2&stderr=false')).text).toBe('one\nthree\n');
    const nd = await admin.logs(id, 'format=ndjson');
    expect(nd.type).toMatch(/application\/x-ndjson/);
    const lines = nd.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // conmon reads stdout and stderr on separate pipes: order holds within a stream, not across them.
    expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.line)).toEqual(['one', 'three']);
    expect(lines.filter((l) => l.stream === 'stderr').map((l) => l.line)).toEqual(['two']);
    for (const l of lines) expect(Number.isNaN(Date.parse(l.time))).toBe(false);
  });

  it('applies env, workingDir, user and hostname from the request', async () => {
    const id = await admin.run({
      image: 'busybox',
      cmd: ['sh', '-c', 'echo "$GREETING $(pwd) $(id -u):$(id -g) $(hostname)"'],
      env: ['GREETING=hi'],
      workingDir: '/tmp',
      user: 'berth',
      hostname: 'box1',
    });
    await admin.waitContainer(id, 'exited');
    expect((await admin.logs(id)).text).toBe('hi /tmp 1000:1000 box1\n');
  });

  it('follows logs until the container exits, and filters by time', async () => {
    const res = await admin.post('/v1/containers', { image: 'busybox', cmd: ['sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.4; done'] }).expect(202);
    const id = res.body.container.id;
    expect(await admin.waitContainer(id, 'running')).toMatchObject({ met: true });
    const followed = await admin.logs(id, 'follow=true');
    expect(followed.text).toBe('line1\nline2\nline3\n');
    expect((await admin.get(`/v1/containers/${id}`).expect(200)).body.status).toBe('exited');

    const nd = (await admin.logs(id, 'format=ndjson')).text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const since = (await admin.logs(id, `since=${encodeURIComponent(nd[1].time)}`)).text;
    expect(since).toBe('line2\nline3\n');
    const until = (await admin.logs(id, `until=${encodeURIComponent(nd[1].time)}&timestamps=true`)).text;
    expect(until).toBe(`${nd[0].time} line1\n`);
  });

  it('stops gracefully when the process handles SIGTERM', async () => {
    const id = await admin.run({ image: 'busybox', cmd: ['sh', '-c', 'trap "echo bye; exit 0" TERM; echo ready; while true; do sleep 0.1; done'] });
    await admin.waitContainer(id, 'running');
    const stop = await admin.post(`/v1/containers/${id}/stop?timeout=30`).expect(202);
    expect((await admin.waitOperation(stop.body.operation.id)).status).toBe('succeeded');
    expect(await admin.waitContainer(id, 'exited')).toMatchObject({ met: true, exitCode: 0 });
    expect((await admin.logs(id)).text).toBe('ready\nbye\n');
  });

  it('stops a sleeping container (SIGTERM, then SIGKILL after the grace period), starts it again, kills it and deletes it', async () => {
    const name = uniqueName('sleeper');
    const id = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'], name });
    const running = await admin.get(`/v1/containers/${name}`).expect(200);
    expect(running.body).toMatchObject({ id, status: 'running' });
    expect(running.body.pid).toBeGreaterThan(0);

    // sleep as pid 1 ignores SIGTERM, so only the SIGKILL after 2 s ends it.
    const stop = await admin.post(`/v1/containers/${id}/stop?timeout=2`).expect(202);
    expect(stop.body.operation.kind).toBe('container.stop');
    expect((await admin.waitOperation(stop.body.operation.id)).status).toBe('succeeded');
    expect(await admin.waitContainer(id, 'exited')).toMatchObject({ met: true, exitCode: 137 });

    const start = await admin.post(`/v1/containers/${id}/start`).expect(202);
    expect((await admin.waitOperation(start.body.operation.id)).status).toBe('succeeded');
    expect((await admin.get(`/v1/containers/${id}`).expect(200)).body.status).toBe('running');

    await admin.delete(`/v1/containers/${id}`).expect(409);

    const kill = await admin.post(`/v1/containers/${id}/kill?signal=SIGTERM`).expect(202);
    expect((await admin.waitOperation(kill.body.operation.id)).status).toBe('succeeded');
    // Still running: pid 1 without a handler ignores SIGTERM.
    expect((await admin.get(`/v1/containers/${id}`).expect(200)).body.status).toBe('running');
    const kill9 = await admin.post(`/v1/containers/${id}/kill?signal=KILL`).expect(202);
    expect((await admin.waitOperation(kill9.body.operation.id)).status).toBe('succeeded');
    expect(await admin.waitContainer(id, 'exited')).toMatchObject({ met: true, exitCode: 137 });

    await admin.post(`/v1/containers/${id}/kill`).expect(409);
    const del = await admin.delete(`/v1/containers/${id}`).expect(202);
    expect((await admin.waitOperation(del.body.operation.id)).status).toBe('succeeded');
    await admin.get(`/v1/containers/${id}`).expect(404);
  });

  it('force-deletes a running container', async () => {
    const id = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'] });
    const del = await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
    expect(del.body.container.status).toBe('removing');
    expect((await admin.waitOperation(del.body.operation.id)).status).toBe('succeeded');
    expect(await admin.waitContainer(id, 'removed', 30)).toMatchObject({ met: true, status: 'removed' });
    await admin.get(`/v1/containers/${id}`).expect(404);
  });

  it('creates without starting when start=false, and starts on request', async () => {
    const res = await admin.post('/v1/containers', { image: 'busybox', cmd: ['true'], start: false }).expect(202);
    expect((await admin.waitOperation(res.body.operation.id)).status).toBe('succeeded');
    expect((await admin.get(`/v1/containers/${res.body.container.id}`).expect(200)).body.status).toBe('created');
    await admin.post(`/v1/containers/${res.body.container.id}/start`).expect(202);
    expect(await admin.waitContainer(res.body.container.id, 'exited')).toMatchObject({ met: true, exitCode: 0 });
  });

  it('refuses a second container with the same name (409) and keeps the first', async () => {
    const name = uniqueName('dup');
    const id = await admin.run({ image: 'busybox', cmd: ['true'], name });
    const clash = await admin.post('/v1/containers', { image: 'busybox', cmd: ['true'], name }).expect(409);
    expect(clash.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(clash.body).toMatchObject({ status: 409, reason: 'ContainerNameInUse' });
    expect((await admin.get(`/v1/containers/${name}`).expect(200)).body.id).toBe(id);
  });

  it('answers 400 naming the field for an invalid body, and stores nothing', async () => {
    const name = uniqueName('invalid');
    const before = (await admin.get('/v1/containers?limit=500').expect(200)).body.items.length;
    const bad = await admin.post('/v1/containers', { image: 'busybox', cmd: 'echo hello', name }).expect(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toContain('cmd');
    const unknown = await admin.post('/v1/containers', { image: 'busybox', name, privileged: true }).expect(400);
    expect(unknown.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'privileged' })]));
    const badRef = await admin.post('/v1/containers', { image: 'Busy Box!', name }).expect(400);
    expect(badRef.body.errors[0].field).toBe('image');
    await admin.get(`/v1/containers/${name}`).expect(404);
    expect((await admin.get('/v1/containers?limit=500').expect(200)).body.items.length).toBe(before);
  });

  it('fails the operation with a clear error when the image is unknown, and the container says so', async () => {
    const res = await admin.post('/v1/containers', { image: 'no-such-image:1.0', cmd: ['true'], pullPolicy: 'never' }).expect(202);
    const op = await admin.waitOperation(res.body.operation.id);
    expect(op.status).toBe('failed');
    expect(op.error).toMatchObject({ class: 'NotFound', reason: 'ImageNotFound' });
    expect(op.error!.message).toContain('docker.io/library/no-such-image:1.0');
    const c = (await admin.get(`/v1/containers/${res.body.container.id}`).expect(200)).body;
    expect(c.status).toBe('failed');
    expect(c.error.reason).toBe('ImageNotFound');
  });

  it('lists with state and label filters and cursor pagination', async () => {
    const label = uniqueName('batch');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await admin.run({ image: 'busybox', cmd: ['true'], labels: { batch: label, n: String(i) } }));
    for (const id of ids) await admin.waitContainer(id, 'exited');
    const page1 = (await admin.get(`/v1/containers?label=batch=${label}&limit=2`).expect(200)).body;
    expect(page1.items.map((c: { id: string }) => c.id)).toEqual([ids[2], ids[1]]);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = (await admin.get(`/v1/containers?label=batch=${label}&limit=2&cursor=${page1.nextCursor}`).expect(200)).body;
    expect(page2.items.map((c: { id: string }) => c.id)).toEqual([ids[0]]);
    expect(page2.nextCursor).toBeNull();
    const one = (await admin.get(`/v1/containers?label=batch=${label}&label=n=1&state=exited`).expect(200)).body;
    expect(one.items.map((c: { id: string }) => c.id)).toEqual([ids[1]]);
    await admin.get('/v1/containers?state=bogus').expect(400);
  });
});
