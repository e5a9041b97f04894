import {
  type CreateContainerRequest,
  type ListContainersData,
  type LogLine,
  createContainer,
  deleteContainer,
  getContainer,
  getContainerLogs,
  killContainer,
  listContainers,
  startContainer,
  stopContainer,
} from '@berth/sdk';
import { env, uniqueName } from './support/api-client';
import { adminSdk, finished, loadImageTar, logText, problemOf, runContainer, waitForContainer, problemAnswer } from './support/sdk';

const admin = adminSdk();

/** Reads a followed log (an open stream) to its end. */
async function followedLog(id: string): Promise<string> {
  const { data } = await getContainerLogs({ client: admin, path: { id }, query: { follow: true }, parseAs: 'stream' });
  const reader = (data as unknown as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
  return text + decoder.decode();
}

const ndjson = async (id: string): Promise<LogLine[]> =>
  (await logText(admin, id, { format: 'ndjson' }))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LogLine);

/**
 * The foundation's user story against the real stack: API, Redis, a worker and
 * runc through conmon, with a busybox image loaded through the API.
 */
describe('containers on real runc', () => {
  beforeAll(async () => {
    const op = await loadImageTar(admin, env.busyboxOciTar);
    expect(op.status).toBe('succeeded');
  });

  it('runs echo hello: 202, the operation succeeds, the container exits 0 and its logs say hello', async () => {
    const res = await createContainer({ client: admin, body: { image: 'busybox', cmd: ['sh', '-c', 'echo hello'], name: uniqueName('hello') } });
    expect(res.response.status).toBe(202);
    expect(res.response.headers.get('location')).toBe(`/v1/operations/${res.data.operation.id}`);
    expect(res.data.container).toMatchObject({ image: 'docker.io/library/busybox:latest', status: 'pending', desiredState: 'running' });
    expect(res.data.operation).toMatchObject({ kind: 'container.create', status: 'queued', targetId: res.data.container.id });

    const op = await finished(admin, res.data.operation.id);
    expect(op.status).toBe('succeeded');
    const exited = await waitForContainer(admin, res.data.container.id, 'exited');
    expect(exited).toMatchObject({ met: true, status: 'exited', exitCode: 0 });

    const logs = await getContainerLogs({ client: admin, path: { id: res.data.container.id }, parseAs: 'text' });
    expect(logs.response.status).toBe(200);
    expect(logs.data).toBe('hello\n');

    const got = await getContainer({ client: admin, path: { id: res.data.container.id } });
    expect(got.data).toMatchObject({ status: 'exited', exitCode: 0, pid: null });
    expect(Date.parse(got.data.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(got.data.startedAt!));
  });

  it('keeps stdout and stderr apart, honours tail, and answers ndjson with timestamps', async () => {
    const { id } = await runContainer(admin, { image: 'busybox', cmd: ['sh', '-c', 'echo one; echo two >&2; echo three; exit 3'] });
    const exited = await waitForContainer(admin, id, 'exited');
    expect(exited.exitCode).toBe(3);
    expect(await logText(admin, id, { stderr: false })).toBe('one\nthree\n');
    expect(await logText(admin, id, { stdout: false })).toBe('two\n');
    expect(await logText(admin, id, { tail: 1, stderr: false })).toBe('three\n');
    expect(await logText(admin, id, { tail: 2, stderr: false })).toBe('one\nthree\n');
    const nd = await getContainerLogs({ client: admin, path: { id }, query: { format: 'ndjson' }, parseAs: 'text' });
    expect(nd.response.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const lines = String(nd.data)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogLine);
    // conmon reads stdout and stderr on separate pipes: order holds within a stream, not across them.
    expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.line)).toEqual(['one', 'three']);
    expect(lines.filter((l) => l.stream === 'stderr').map((l) => l.line)).toEqual(['two']);
    for (const l of lines) expect(Number.isNaN(Date.parse(l.time))).toBe(false);
  });

  it('applies env, workingDir, user and hostname from the request', async () => {
    const { id } = await runContainer(admin, {
      image: 'busybox',
      cmd: ['sh', '-c', 'echo "$GREETING $(pwd) $(id -u):$(id -g) $(hostname)"'],
      env: ['GREETING=hi'],
      workingDir: '/tmp',
      user: 'berth',
      hostname: 'box1',
    });
    await waitForContainer(admin, id, 'exited');
    expect(await logText(admin, id)).toBe('hi /tmp 1000:1000 box1\n');
  });

  it('follows logs until the container exits, and filters by time', async () => {
    const res = await createContainer({ client: admin, body: { image: 'busybox', cmd: ['sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.4; done'] } });
    expect(res.response.status).toBe(202);
    const id = res.data.container.id;
    expect(await waitForContainer(admin, id, 'running')).toMatchObject({ met: true });
    expect(await followedLog(id)).toBe('line1\nline2\nline3\n');
    expect((await getContainer({ client: admin, path: { id } })).data.status).toBe('exited');

    const nd = await ndjson(id);
    expect(await logText(admin, id, { since: nd[1].time })).toBe('line2\nline3\n');
    expect(await logText(admin, id, { until: nd[1].time, timestamps: true })).toBe(`${nd[0].time} line1\n`);
  });

  it('stops gracefully when the process handles SIGTERM', async () => {
    const { id } = await runContainer(admin, {
      image: 'busybox',
      cmd: ['sh', '-c', 'trap "echo bye; exit 0" TERM; echo ready; while true; do sleep 0.1; done'],
    });
    await waitForContainer(admin, id, 'running');
    const stop = await stopContainer({ client: admin, path: { id }, query: { timeout: 30 } });
    expect(stop.response.status).toBe(202);
    expect((await finished(admin, stop.data.operation.id)).status).toBe('succeeded');
    expect(await waitForContainer(admin, id, 'exited')).toMatchObject({ met: true, exitCode: 0 });
    expect(await logText(admin, id)).toBe('ready\nbye\n');
  });

  it('stops a sleeping container (SIGTERM, then SIGKILL after the grace period), starts it again, kills it and deletes it', async () => {
    const name = uniqueName('sleeper');
    const { id } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'], name });
    const running = await getContainer({ client: admin, path: { id: name } });
    expect(running.data).toMatchObject({ id, status: 'running' });
    expect(running.data.pid).toBeGreaterThan(0);

    // sleep as pid 1 ignores SIGTERM, so only the SIGKILL after 2 s ends it.
    const stop = await stopContainer({ client: admin, path: { id }, query: { timeout: 2 } });
    expect(stop.response.status).toBe(202);
    expect(stop.data.operation.kind).toBe('container.stop');
    expect((await finished(admin, stop.data.operation.id)).status).toBe('succeeded');
    expect(await waitForContainer(admin, id, 'exited')).toMatchObject({ met: true, exitCode: 137 });

    const start = await startContainer({ client: admin, path: { id } });
    expect(start.response.status).toBe(202);
    expect((await finished(admin, start.data.operation.id)).status).toBe('succeeded');
    expect((await getContainer({ client: admin, path: { id } })).data.status).toBe('running');

    expect((await problemOf(deleteContainer({ client: admin, path: { id } }))).status).toBe(409);

    const kill = await killContainer({ client: admin, path: { id }, query: { signal: 'SIGTERM' } });
    expect(kill.response.status).toBe(202);
    expect((await finished(admin, kill.data.operation.id)).status).toBe('succeeded');
    // Still running: pid 1 without a handler ignores SIGTERM.
    expect((await getContainer({ client: admin, path: { id } })).data.status).toBe('running');
    const kill9 = await killContainer({ client: admin, path: { id }, query: { signal: 'KILL' } });
    expect(kill9.response.status).toBe(202);
    expect((await finished(admin, kill9.data.operation.id)).status).toBe('succeeded');
    expect(await waitForContainer(admin, id, 'exited')).toMatchObject({ met: true, exitCode: 137 });

    expect((await problemOf(killContainer({ client: admin, path: { id } }))).status).toBe(409);
    const del = await deleteContainer({ client: admin, path: { id } });
    expect(del.response.status).toBe(202);
    expect((await finished(admin, del.data.operation.id)).status).toBe('succeeded');
    expect((await problemOf(getContainer({ client: admin, path: { id } }))).status).toBe(404);
  });

  it('force-deletes a running container', async () => {
    const { id } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'] });
    const del = await deleteContainer({ client: admin, path: { id }, query: { force: true } });
    expect(del.response.status).toBe(202);
    expect(del.data.container.status).toBe('removing');
    expect((await finished(admin, del.data.operation.id)).status).toBe('succeeded');
    expect(await waitForContainer(admin, id, 'removed', 30)).toMatchObject({ met: true, status: 'removed' });
    expect((await problemOf(getContainer({ client: admin, path: { id } }))).status).toBe(404);
  });

  it('creates without starting when start=false, and starts on request', async () => {
    const res = await createContainer({ client: admin, body: { image: 'busybox', cmd: ['true'], start: false } });
    expect(res.response.status).toBe(202);
    expect((await finished(admin, res.data.operation.id)).status).toBe('succeeded');
    expect((await getContainer({ client: admin, path: { id: res.data.container.id } })).data.status).toBe('created');
    expect((await startContainer({ client: admin, path: { id: res.data.container.id } })).response.status).toBe(202);
    expect(await waitForContainer(admin, res.data.container.id, 'exited')).toMatchObject({ met: true, exitCode: 0 });
  });

  it('refuses a second container with the same name (409) and keeps the first', async () => {
    const name = uniqueName('dup');
    const { id } = await runContainer(admin, { image: 'busybox', cmd: ['true'], name });
    const { problem: clash, response } = await problemAnswer(
      createContainer({ client: admin, body: { image: 'busybox', cmd: ['true'], name }, throwOnError: false }),
    );
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(clash).toMatchObject({ status: 409, reason: 'ContainerNameInUse' });
    expect((await getContainer({ client: admin, path: { id: name } })).data.id).toBe(id);
  });

  it('answers 400 naming the field for an invalid body, and stores nothing', async () => {
    const name = uniqueName('invalid');
    const count = async () => (await listContainers({ client: admin, query: { limit: 500 } })).data.items.length;
    const before = await count();
    const { problem: bad, response } = await problemAnswer(
      createContainer({ client: admin, body: { image: 'busybox', cmd: 'echo hello' as unknown as string[], name }, throwOnError: false }),
    );
    expect(bad.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(bad.errors.map((e) => e.field)).toContain('cmd');
    const unknown = await problemOf(
      createContainer({ client: admin, body: { image: 'busybox', name, privileged: true } as unknown as CreateContainerRequest }),
    );
    expect(unknown.status).toBe(400);
    expect(unknown.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'privileged' })]));
    const badRef = await problemOf(createContainer({ client: admin, body: { image: 'Busy Box!', name } }));
    expect(badRef.status).toBe(400);
    expect(badRef.errors[0].field).toBe('image');
    expect((await problemOf(getContainer({ client: admin, path: { id: name } }))).status).toBe(404);
    expect(await count()).toBe(before);
  });

  it('fails the operation with a clear error when the image is unknown, and the container says so', async () => {
    const res = await createContainer({ client: admin, body: { image: 'no-such-image:1.0', cmd: ['true'], pullPolicy: 'never' } });
    expect(res.response.status).toBe(202);
    const op = await finished(admin, res.data.operation.id);
    expect(op.status).toBe('failed');
    expect(op.error).toMatchObject({ class: 'NotFound', reason: 'ImageNotFound' });
    expect(op.error!.message).toContain('docker.io/library/no-such-image:1.0');
    const c = (await getContainer({ client: admin, path: { id: res.data.container.id } })).data;
    expect(c.status).toBe('failed');
    expect(c.error!.reason).toBe('ImageNotFound');
  });

  it('lists with state and label filters and cursor pagination', async () => {
    const label = uniqueName('batch');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await runContainer(admin, { image: 'busybox', cmd: ['true'], labels: { batch: label, n: String(i) } })).id);
    for (const id of ids) await waitForContainer(admin, id, 'exited');
    const page1 = (await listContainers({ client: admin, query: { label: [`batch=${label}`], limit: 2 } })).data;
    expect(page1.items.map((c) => c.id)).toEqual([ids[2], ids[1]]);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const page2 = (await listContainers({ client: admin, query: { label: [`batch=${label}`], limit: 2, cursor: page1.nextCursor! } })).data;
    expect(page2.items.map((c) => c.id)).toEqual([ids[0]]);
    expect(page2.nextCursor).toBeNull();
    const one = (await listContainers({ client: admin, query: { label: [`batch=${label}`, 'n=1'], state: 'exited' } })).data;
    expect(one.items.map((c) => c.id)).toEqual([ids[1]]);
    const bogus = { state: 'bogus' } as unknown as NonNullable<ListContainersData['query']>;
    expect((await problemOf(listContainers({ client: admin, query: bogus }))).status).toBe(400);
  });
});
