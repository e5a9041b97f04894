import { TeamClient, admin, env, uniqueName } from './support/api-client';

const DOCKER_DEFAULT_CAPS = '00000000a80425fb';

/** Limits, isolation defaults and the running container's controls, on real runc. */
describe('container lifecycle, limits and isolation', () => {
  let team: TeamClient;
  let teamId: string;

  beforeAll(async () => {
    expect((await admin.loadImage(env.busyboxOciTar)).status).toBe('succeeded');
    const res = await admin.post('/v1/teams', { name: uniqueName('limits').toLowerCase() }).expect(201);
    team = new TeamClient(res.body.token);
    teamId = res.body.team.id;
    expect(res.body.team.policy).toEqual({ allowPrivileged: false, allowedCapabilities: [], allowedBindPaths: [], allowHostNetwork: false });
    expect((await team.loadImage(env.busyboxOciTar)).status).toBe('succeeded');
  });

  it('execs a command and answers its exit code, stdout and stderr', async () => {
    const id = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'], env: ['FROM_CONTAINER=1'] });
    const res = await admin
      .post(`/v1/containers/${id}/exec`, {
        cmd: ['sh', '-c', 'echo "$FROM_CONTAINER $EXTRA $(id -u) $(pwd)"; echo oops >&2; exit 7'],
        env: ['EXTRA=2'],
        user: 'berth',
        workingDir: '/tmp',
      })
      .expect(200);
    expect(res.body).toEqual({ exitCode: 7, stdout: '1 2 1000 /tmp\n', stderr: 'oops\n', truncated: false });
    await admin.post(`/v1/containers/${id}/exec`, { cmd: 'ls' }).expect(400);
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
    const stopped = await admin.run({ image: 'busybox', cmd: ['true'] });
    await admin.waitContainer(stopped, 'exited');
    const refused = await admin.post(`/v1/containers/${stopped}/exec`, { cmd: ['true'] }).expect(409);
    expect(refused.body.reason).toBe('ContainerNotRunning');
  });

  it('runs with Docker’s default capabilities, no-new-privileges and a seccomp filter', async () => {
    const id = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'] });
    const status = (await admin.post(`/v1/containers/${id}/exec`, { cmd: ['cat', '/proc/1/status'] }).expect(200)).body.stdout as string;
    expect(status).toMatch(new RegExp(`CapEff:\\s+${DOCKER_DEFAULT_CAPS}`));
    expect(status).toMatch(new RegExp(`CapBnd:\\s+${DOCKER_DEFAULT_CAPS}`));
    expect(status).toMatch(/NoNewPrivs:\s+1/);
    expect(status).toMatch(/Seccomp:\s+2/);
    // Docker's profile refuses unshare without CAP_SYS_ADMIN.
    const unshare = (await admin.post(`/v1/containers/${id}/exec`, { cmd: ['unshare', '-U', 'true'] }).expect(200)).body;
    expect(unshare.exitCode).not.toBe(0);
    expect(unshare.stderr).toMatch(/Operation not permitted/);
    const masked = (await admin.post(`/v1/containers/${id}/exec`, { cmd: ['sh', '-c', 'cat /proc/kcore | head -c 1; echo rc=$?'] }).expect(200)).body;
    expect(masked.stdout).not.toMatch(/^.rc=0/);
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  });

  it('refuses privileged containers and added capabilities without the team’s policy (403), storing nothing', async () => {
    const name = uniqueName('priv');
    const before = (await team.get('/v1/containers?limit=500').expect(200)).body.items.length;
    const priv = await team.post('/v1/containers', { image: 'busybox', cmd: ['true'], name, security: { privileged: true } }).expect(403);
    expect(priv.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(priv.body).toMatchObject({ status: 403, reason: 'PrivilegedNotAllowed' });
    const cap = await team.post('/v1/containers', { image: 'busybox', cmd: ['true'], name, security: { capAdd: ['SYS_ADMIN'] } }).expect(403);
    expect(cap.body.reason).toBe('CapabilityNotAllowed');
    await team.get(`/v1/containers/${name}`).expect(404);
    expect((await team.get('/v1/containers?limit=500').expect(200)).body.items.length).toBe(before);

    // Only an admin sets the policy; then the same request is accepted.
    await team.post(`/v1/teams`, { name: 'x' }).expect(403);
    await team.get('/v1/containers').expect(200);
    const policy = await admin.put(`/v1/teams/${teamId}/policy`, { allowPrivileged: false, allowedCapabilities: ['SYS_ADMIN'] }).expect(200);
    expect(policy.body.policy).toEqual({ allowPrivileged: false, allowedCapabilities: ['SYS_ADMIN'], allowedBindPaths: [], allowHostNetwork: false });
    const id = await team.run({ image: 'busybox', cmd: ['sleep', '1000'], name, security: { capAdd: ['SYS_ADMIN'] } });
    const status = (await team.post(`/v1/containers/${id}/exec`, { cmd: ['cat', '/proc/1/status'] }).expect(200)).body.stdout as string;
    expect(status).not.toMatch(new RegExp(`CapEff:\\s+${DOCKER_DEFAULT_CAPS}`));
    await team.delete(`/v1/containers/${id}?force=true`).expect(202);
  });

  it('ends a process that outgrows its memory limit with an OOM kill, reported as oomKilled', async () => {
    const id = await admin.run({
      image: 'busybox',
      cmd: ['sh', '-c', 'x=a; while true; do x="$x$x"; done'],
      resources: { memoryBytes: 32 * 1024 * 1024, memorySwapBytes: 32 * 1024 * 1024 },
    });
    expect(await admin.waitContainer(id, 'exited', 120)).toMatchObject({ met: true, exitCode: 137 });
    const c = (await admin.get(`/v1/containers/${id}`).expect(200)).body;
    expect(c.oomKilled).toBe(true);
    expect(c.resources).toMatchObject({ memoryBytes: 32 * 1024 * 1024 });
  });

  it('contains a fork bomb within its pids limit', async () => {
    // busybox sh gives up when fork fails, so the bomb runs in a subshell; then the main shell
    // becomes `sleep` through exec, which needs no new process.
    const id = await admin.run({
      image: 'busybox',
      cmd: ['sh', '-c', '(i=0; while [ $i -lt 200 ]; do sleep 60 & i=$((i+1)); done; wait); echo bomb-done; exec sleep 60'],
      resources: { pidsLimit: 20 },
    });
    for (let i = 0; i < 50 && !(await admin.logs(id)).text.includes('bomb-done'); i++) await new Promise((r) => setTimeout(r, 200));
    expect((await admin.get(`/v1/containers/${id}`).expect(200)).body.status).toBe('running');
    const top = (await admin.get(`/v1/containers/${id}/top`).expect(200)).body.processes;
    expect(top.length).toBeGreaterThan(5);
    expect(top.length).toBeLessThanOrEqual(20);
    const stats = (await admin.get(`/v1/containers/${id}/stats`).expect(200)).body;
    expect(stats.pids).toMatchObject({ limit: 20 });
    expect(stats.pids.current).toBeLessThanOrEqual(20);
    expect((await admin.logs(id)).text).toMatch(/can't fork|Resource temporarily unavailable/);
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  });

  it('pauses (a counter stops) and unpauses (it goes on), and reports memory in use', async () => {
    // The counter ticks every 50 ms (about 25 ticks in 1.5 s when it runs). It is written
    // through a rename, so a read never sees a half-written file.
    const id = await admin.run({
      image: 'busybox',
      cmd: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done'],
      resources: { memoryBytes: 64 * 1024 * 1024 },
    });
    const read = async () => {
      const n = Number((await admin.post(`/v1/containers/${id}/exec`, { cmd: ['cat', '/tmp/n'] }).expect(200)).body.stdout);
      expect(n).toBeGreaterThan(0);
      return n;
    };
    await new Promise((r) => setTimeout(r, 300));
    const stats = (await admin.get(`/v1/containers/${id}/stats`).expect(200)).body;
    expect(stats.memory.usageBytes).toBeGreaterThan(0);
    expect(stats.memory.limitBytes).toBe(64 * 1024 * 1024);
    expect(stats.cpu.onlineCpus).toBeGreaterThan(0);

    const beforePause = await read();
    const pause = await admin.post(`/v1/containers/${id}/pause`).expect(202);
    expect((await admin.waitOperation(pause.body.operation.id)).status).toBe('succeeded');
    expect((await admin.get(`/v1/containers/${id}`).expect(200)).body.status).toBe('paused');
    await admin.post(`/v1/containers/${id}/pause`).expect(409);
    await admin.post(`/v1/containers/${id}/exec`, { cmd: ['true'] }).expect(409);
    expect((await admin.get(`/v1/containers/${id}/top`).expect(200)).body.processes.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1500));
    const unpause = await admin.post(`/v1/containers/${id}/unpause`).expect(202);
    expect((await admin.waitOperation(unpause.body.operation.id)).status).toBe('succeeded');
    const atThaw = await read();
    expect(atThaw - beforePause).toBeLessThan(12); // frozen for 1.5 s: only the ticks around the requests
    await new Promise((r) => setTimeout(r, 1500));
    expect((await read()) - atThaw).toBeGreaterThanOrEqual(5); // running again
    expect((await admin.get(`/v1/containers/${id}`).expect(200)).body.status).toBe('running');

    // Paused again, it still deletes.
    const again = await admin.post(`/v1/containers/${id}/pause`).expect(202);
    expect((await admin.waitOperation(again.body.operation.id)).status).toBe('succeeded');
    const del = await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
    expect((await admin.waitOperation(del.body.operation.id)).status).toBe('succeeded');
  });

  it('validates limits and names the field', async () => {
    const small = await admin.post('/v1/containers', { image: 'busybox', cmd: ['true'], resources: { memoryBytes: 1024 } }).expect(400);
    expect(small.body.errors[0].field).toBe('resources.memoryBytes');
    const ulimit = await admin
      .post('/v1/containers', { image: 'busybox', cmd: ['true'], resources: { ulimits: [{ name: 'bogus', soft: 1, hard: 1 }] } })
      .expect(400);
    expect(ulimit.body.errors[0].field).toBe('resources.ulimits.0.name');
    const unknown = await admin.post('/v1/containers', { image: 'busybox', cmd: ['true'], security: { apparmor: 'x' } }).expect(400);
    expect(unknown.body.errors[0].field).toBe('security.apparmor');
  });

  it('applies ulimits, cpus, read-only rootfs and dropped capabilities', async () => {
    const id = await admin.run({
      image: 'busybox',
      cmd: ['sleep', '1000'],
      resources: { ulimits: [{ name: 'nofile', soft: 100, hard: 200 }], cpus: 0.5, shmSizeBytes: 8 * 1024 * 1024 },
      security: { readOnlyRootfs: true, capDrop: ['CHOWN'] },
    });
    const out = (
      await admin
        .post(`/v1/containers/${id}/exec`, {
          cmd: ['sh', '-c', 'ulimit -n; ulimit -Hn; touch /x 2>&1; echo > /dev/shm/ok && echo shm-ok; chown 1 /dev/shm/ok 2>&1 || echo chown-refused'],
        })
        .expect(200)
    ).body.stdout as string;
    expect(out).toMatch(/^100\n200\n/);
    expect(out).toMatch(/Read-only file system/);
    expect(out).toMatch(/shm-ok/);
    expect(out).toMatch(/chown-refused/);
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  });

  it('renames, keeping names unique in the team', async () => {
    const a = await admin.run({ image: 'busybox', cmd: ['true'], name: uniqueName('a') });
    const b = uniqueName('b');
    await admin.run({ image: 'busybox', cmd: ['true'], name: b });
    const renamed = uniqueName('renamed');
    expect((await admin.post(`/v1/containers/${a}/rename`, { name: renamed }).expect(200)).body).toMatchObject({ id: a, name: renamed });
    expect((await admin.get(`/v1/containers/${renamed}`).expect(200)).body.id).toBe(a);
    expect((await admin.post(`/v1/containers/${a}/rename`, { name: b }).expect(409)).body.reason).toBe('ContainerNameInUse');
    await admin.post(`/v1/containers/${a}/rename`, { name: 'bad name' }).expect(400);
  });

  it('updates limits of a running container in place', async () => {
    const id = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'], resources: { memoryBytes: 64 * 1024 * 1024, pidsLimit: 50 } });
    const up = await admin.post(`/v1/containers/${id}/update`, { resources: { memoryBytes: 128 * 1024 * 1024, pidsLimit: 30 } }).expect(202);
    expect((await admin.waitOperation(up.body.operation.id)).status).toBe('succeeded');
    const stats = (await admin.get(`/v1/containers/${id}/stats`).expect(200)).body;
    expect(stats.memory.limitBytes).toBe(128 * 1024 * 1024);
    expect(stats.pids.limit).toBe(30);
    expect((await admin.get(`/v1/containers/${id}`).expect(200)).body.resources).toMatchObject({ memoryBytes: 128 * 1024 * 1024, pidsLimit: 30 });
    const bad = await admin.post(`/v1/containers/${id}/update`, { resources: { memoryBytes: 10 } }).expect(400);
    expect(bad.body.errors[0].field).toBe('resources.memoryBytes');
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  });

  it('restarts: a new process with a new start time', async () => {
    const id = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'] });
    const before = (await admin.get(`/v1/containers/${id}`).expect(200)).body;
    const restart = await admin.post(`/v1/containers/${id}/restart?timeout=1`).expect(202);
    expect((await admin.waitOperation(restart.body.operation.id)).status).toBe('succeeded');
    const after = (await admin.get(`/v1/containers/${id}`).expect(200)).body;
    expect(after.status).toBe('running');
    expect(after.pid).not.toBe(before.pid);
    expect(Date.parse(after.startedAt)).toBeGreaterThan(Date.parse(before.startedAt));
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  });

  it('removes an autoRemove container once it exits', async () => {
    const res = await admin.post('/v1/containers', { image: 'busybox', cmd: ['sh', '-c', 'echo bye'], autoRemove: true }).expect(202);
    expect(res.body.container.autoRemove).toBe(true);
    expect(await admin.waitContainer(res.body.container.id, 'removed', 60)).toMatchObject({ met: true, status: 'removed' });
    await admin.get(`/v1/containers/${res.body.container.id}`).expect(404);
  });

  it('restarts a crashing container with on-failure:3 exactly three times', async () => {
    const res = await admin
      .post('/v1/containers', { image: 'busybox', cmd: ['sh', '-c', 'echo run; exit 3'], restartPolicy: { name: 'on-failure', maxRetries: 3 } })
      .expect(202);
    const id = res.body.container.id;
    expect(res.body.container.restartPolicy).toEqual({ name: 'on-failure', maxRetries: 3 });
    // Backoff 100, 200, 400 ms: the third restart comes within a few seconds.
    let c = (await admin.get(`/v1/containers/${id}`).expect(200)).body;
    for (let i = 0; i < 100 && !(c.restartCount === 3 && c.status === 'exited'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      c = (await admin.get(`/v1/containers/${id}`).expect(200)).body;
    }
    expect(c).toMatchObject({ status: 'exited', exitCode: 3, restartCount: 3 });
    await new Promise((r) => setTimeout(r, 1500)); // a fourth restart would come 800 ms after the third exit
    expect((await admin.get(`/v1/containers/${id}`).expect(200)).body).toMatchObject({ status: 'exited', restartCount: 3 });
    expect((await admin.logs(id)).text).toBe('run\nrun\nrun\nrun\n');
  });

  it('suspends the restart policy after a kill with SIGKILL until the next start, but not after a signal the process handles', async () => {
    const killed = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'], restartPolicy: { name: 'always' } });
    const kill = await admin.post(`/v1/containers/${killed}/kill`).expect(202);
    expect((await admin.waitOperation(kill.body.operation.id)).status).toBe('succeeded');
    expect(await admin.waitContainer(killed, 'exited')).toMatchObject({ met: true, exitCode: 137 });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await admin.get(`/v1/containers/${killed}`).expect(200)).body).toMatchObject({ status: 'exited', restartCount: 0 });
    await admin.post(`/v1/containers/${killed}/start`).expect(202);
    expect(await admin.waitContainer(killed, 'running')).toMatchObject({ met: true });
    await admin.delete(`/v1/containers/${killed}?force=true`).expect(202);

    const handled = await admin.run({
      image: 'busybox',
      cmd: ['sh', '-c', 'trap "exit 3" USR1; while true; do sleep 0.1; done'],
      restartPolicy: { name: 'on-failure' },
    });
    await admin.post(`/v1/containers/${handled}/kill?signal=USR1`).expect(202);
    let c = (await admin.get(`/v1/containers/${handled}`).expect(200)).body;
    for (let i = 0; i < 100 && !(c.restartCount === 1 && c.status === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      c = (await admin.get(`/v1/containers/${handled}`).expect(200)).body;
    }
    expect(c).toMatchObject({ status: 'running', restartCount: 1 });
    await admin.delete(`/v1/containers/${handled}?force=true`).expect(202);
  });

  it('refuses autoRemove together with a restart policy', async () => {
    const res = await admin.post('/v1/containers', { image: 'busybox', cmd: ['true'], autoRemove: true, restartPolicy: { name: 'always' } }).expect(400);
    expect(res.body).toMatchObject({ reason: 'ConflictingOptions' });
    expect(res.body.errors[0].field).toBe('restartPolicy');
    await admin.post('/v1/containers', { image: 'busybox', cmd: ['true'], restartPolicy: { name: 'sometimes' } }).expect(400);
  });

  it('turns a container with a failing health check unhealthy, says so in events, and waits for healthy', async () => {
    const events = openEventStream(env.url, env.adminToken, 'container.');
    try {
      const sick = await admin.run({
        image: 'busybox',
        cmd: ['sh', '-c', 'touch /tmp/ok; sleep 1000'],
        healthcheck: { cmd: ['sh', '-c', 'test -e /tmp/ok'], intervalMs: 200, timeoutMs: 2000, retries: 2 },
      });
      expect(await admin.waitContainer(sick, 'healthy', 30)).toMatchObject({ met: true });
      expect((await admin.get(`/v1/containers/${sick}`).expect(200)).body.health).toMatchObject({ status: 'healthy', failingStreak: 0, lastExitCode: 0 });

      await admin.post(`/v1/containers/${sick}/exec`, { cmd: ['rm', '/tmp/ok'] }).expect(200);
      let c = (await admin.get(`/v1/containers/${sick}`).expect(200)).body;
      for (let i = 0; i < 100 && c.health?.status !== 'unhealthy'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        c = (await admin.get(`/v1/containers/${sick}`).expect(200)).body;
      }
      expect(c.health).toMatchObject({ status: 'unhealthy', lastExitCode: 1 });
      expect(c.health.failingStreak).toBeGreaterThanOrEqual(2);
      expect(await admin.waitContainer(sick, 'healthy', 5)).toMatchObject({ met: false });

      const seen = await events.until((e) => e.id === sick && e.type === 'container.health_status' && e.attributes?.status === 'unhealthy', 10_000);
      const mine = seen.filter((e) => e.id === sick);
      expect(mine.map((e) => e.type)).toEqual(expect.arrayContaining(['container.running', 'container.health_status']));
      expect(mine.filter((e) => e.type === 'container.health_status').map((e) => e.attributes?.status)).toEqual(
        expect.arrayContaining(['healthy', 'unhealthy']),
      );
      await admin.delete(`/v1/containers/${sick}?force=true`).expect(202);
    } finally {
      await events.close();
    }
  });

  it('streams only the caller’s team’s events', async () => {
    const theirs = openEventStream(env.url, team.token, '');
    try {
      const mine = await admin.run({ image: 'busybox', cmd: ['true'] });
      await admin.waitContainer(mine, 'exited');
      const own = await team.run({ image: 'busybox', cmd: ['true'] });
      const seen = await theirs.until((e) => e.id === own && e.type === 'container.exited', 10_000);
      expect(seen.some((e) => e.id === mine)).toBe(false);
      expect(seen.find((e) => e.id === own && e.type === 'container.exited')?.attributes).toMatchObject({ exitCode: 0 });
    } finally {
      await theirs.close();
    }
  });
});

interface StreamedEvent {
  type: string;
  id: string;
  at: string;
  attributes?: Record<string, unknown>;
}

/** Follows GET /v1/events (server-sent events) and collects what arrives. */
function openEventStream(base: string, token: string, typePrefix: string) {
  const controller = new AbortController();
  const seen: StreamedEvent[] = [];
  const waiters: (() => void)[] = [];
  const query = typePrefix ? `?type=${encodeURIComponent(typePrefix)}` : '';
  const done = (async () => {
    const res = await fetch(`${base}/v1/events${query}`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = message.split('\n').find((l) => l.startsWith('data: '));
        if (data) {
          seen.push(JSON.parse(data.slice(6)) as StreamedEvent);
          waiters.splice(0).forEach((w) => w());
        }
      }
    }
  })().catch(() => undefined);
  return {
    async until(predicate: (e: StreamedEvent) => boolean, timeoutMs: number): Promise<StreamedEvent[]> {
      const deadline = Date.now() + timeoutMs;
      while (!seen.some(predicate)) {
        if (Date.now() > deadline) throw new Error(`no matching event in ${timeoutMs} ms; saw ${JSON.stringify(seen.map((e) => [e.type, e.id]))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
      return seen;
    },
    close() {
      controller.abort();
      return done;
    },
  };
}
