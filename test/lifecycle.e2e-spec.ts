import {
  type BerthClient,
  type CreateContainerRequest,
  type Event,
  type ExecRequest,
  createContainer,
  createTeam,
  deleteContainer,
  execInContainer,
  getContainer,
  getContainerStats,
  killContainer,
  listContainerProcesses,
  listContainers,
  pauseContainer,
  renameContainer,
  restartContainer,
  setTeamPolicy,
  startContainer,
  streamEvents,
  unpauseContainer,
  updateContainer,
} from '@berth/sdk';
import { env, uniqueName } from './support/api-client';
import { ContractValidator } from './support/contract';
import { adminSdk, finished, loadImageTar, logText, problemOf, runContainer, sdkClient, waitForContainer, problemAnswer } from './support/sdk';

const DOCKER_DEFAULT_CAPS = '00000000a80425fb';

const admin = adminSdk();

/** Runs a command in a container; answers the exec result. */
async function exec(client: BerthClient, id: string, body: ExecRequest) {
  return (await execInContainer({ client, path: { id }, body })).data;
}

/** Force-deletes a container and checks the API took it (202). */
async function forceDelete(client: BerthClient, id: string) {
  const del = await deleteContainer({ client, path: { id }, query: { force: true } });
  expect(del.response.status).toBe(202);
  return del.data;
}

const getC = async (client: BerthClient, id: string) => (await getContainer({ client, path: { id } })).data;

/** Limits, isolation defaults and the running container's controls, on real runc. */
describe('container lifecycle, limits and isolation', () => {
  let team: BerthClient;
  let teamId: string;

  beforeAll(async () => {
    expect((await loadImageTar(admin, env.busyboxOciTar)).status).toBe('succeeded');
    const res = await createTeam({ client: admin, body: { name: uniqueName('limits').toLowerCase() } });
    expect(res.response.status).toBe(201);
    team = sdkClient(res.data.token);
    teamId = res.data.team.id;
    expect(res.data.team.policy).toEqual({ allowPrivileged: false, allowedCapabilities: [], allowedBindPaths: [], allowHostNetwork: false });
    expect((await loadImageTar(team, env.busyboxOciTar)).status).toBe('succeeded');
  });

  it('execs a command and answers its exit code, stdout and stderr', async () => {
    const { id } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'], env: ['FROM_CONTAINER=1'] });
    const res = await exec(admin, id, {
      cmd: ['sh', '-c', 'echo "$FROM_CONTAINER $EXTRA $(id -u) $(pwd)"; echo oops >&2; exit 7'],
      env: ['EXTRA=2'],
      user: 'berth',
      workingDir: '/tmp',
    });
    expect(res).toEqual({ exitCode: 7, stdout: '1 2 1000 /tmp\n', stderr: 'oops\n', truncated: false });
    expect((await problemOf(execInContainer({ client: admin, path: { id }, body: { cmd: 'ls' as unknown as string[] } }))).status).toBe(400);
    await forceDelete(admin, id);
    const stopped = await runContainer(admin, { image: 'busybox', cmd: ['true'] });
    await waitForContainer(admin, stopped.id, 'exited');
    const refused = await problemOf(execInContainer({ client: admin, path: { id: stopped.id }, body: { cmd: ['true'] } }));
    expect(refused.status).toBe(409);
    expect(refused.reason).toBe('ContainerNotRunning');
  });

  it('runs with Docker’s default capabilities, no-new-privileges and a seccomp filter', async () => {
    const { id } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'] });
    const status = (await exec(admin, id, { cmd: ['cat', '/proc/1/status'] })).stdout;
    expect(status).toMatch(new RegExp(`CapEff:\\s+${DOCKER_DEFAULT_CAPS}`));
    expect(status).toMatch(new RegExp(`CapBnd:\\s+${DOCKER_DEFAULT_CAPS}`));
    expect(status).toMatch(/NoNewPrivs:\s+1/);
    expect(status).toMatch(/Seccomp:\s+2/);
    // Docker's profile refuses unshare without CAP_SYS_ADMIN.
    const unshare = await exec(admin, id, { cmd: ['unshare', '-U', 'true'] });
    expect(unshare.exitCode).not.toBe(0);
    expect(unshare.stderr).toMatch(/Operation not permitted/);
    const masked = await exec(admin, id, { cmd: ['sh', '-c', 'cat /proc/kcore | head -c 1; echo rc=$?'] });
    expect(masked.stdout).not.toMatch(/^.rc=0/);
    await forceDelete(admin, id);
  });

  it('refuses privileged containers and added capabilities without the team’s policy (403), storing nothing', async () => {
    const name = uniqueName('priv');
    const count = async () => (await listContainers({ client: team, query: { limit: 500 } })).data.items.length;
    const before = await count();
    const { problem: priv, response } = await problemAnswer(
      createContainer({ client: team, body: { image: 'busybox', cmd: ['true'], name, security: { privileged: true } }, throwOnError: false }),
    );
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(priv).toMatchObject({ status: 403, reason: 'PrivilegedNotAllowed' });
    const cap = await problemOf(createContainer({ client: team, body: { image: 'busybox', cmd: ['true'], name, security: { capAdd: ['SYS_ADMIN'] } } }));
    expect(cap.status).toBe(403);
    expect(cap.reason).toBe('CapabilityNotAllowed');
    expect((await problemOf(getContainer({ client: team, path: { id: name } }))).status).toBe(404);
    expect(await count()).toBe(before);

    // Only an admin sets the policy; then the same request is accepted.
    expect((await problemOf(createTeam({ client: team, body: { name: 'x' } }))).status).toBe(403);
    expect((await listContainers({ client: team })).response.status).toBe(200);
    const policy = await setTeamPolicy({ client: admin, path: { id: teamId }, body: { allowPrivileged: false, allowedCapabilities: ['SYS_ADMIN'] } });
    expect(policy.response.status).toBe(200);
    expect(policy.data.policy).toEqual({ allowPrivileged: false, allowedCapabilities: ['SYS_ADMIN'], allowedBindPaths: [], allowHostNetwork: false });
    const { id } = await runContainer(team, { image: 'busybox', cmd: ['sleep', '1000'], name, security: { capAdd: ['SYS_ADMIN'] } });
    const status = (await exec(team, id, { cmd: ['cat', '/proc/1/status'] })).stdout;
    expect(status).not.toMatch(new RegExp(`CapEff:\\s+${DOCKER_DEFAULT_CAPS}`));
    await forceDelete(team, id);
  });

  it('ends a process that outgrows its memory limit with an OOM kill, reported as oomKilled', async () => {
    const { id } = await runContainer(admin, {
      image: 'busybox',
      cmd: ['sh', '-c', 'x=a; while true; do x="$x$x"; done'],
      resources: { memoryBytes: 32 * 1024 * 1024, memorySwapBytes: 32 * 1024 * 1024 },
    });
    expect(await waitForContainer(admin, id, 'exited', 120)).toMatchObject({ met: true, exitCode: 137 });
    const c = await getC(admin, id);
    expect(c.oomKilled).toBe(true);
    expect(c.resources).toMatchObject({ memoryBytes: 32 * 1024 * 1024 });
  });

  it('contains a fork bomb within its pids limit', async () => {
    // busybox sh gives up when fork fails, so the bomb runs in a subshell; then the main shell
    // becomes `sleep` through exec, which needs no new process.
    const { id } = await runContainer(admin, {
      image: 'busybox',
      cmd: ['sh', '-c', '(i=0; while [ $i -lt 200 ]; do sleep 60 & i=$((i+1)); done; wait); echo bomb-done; exec sleep 60'],
      resources: { pidsLimit: 20 },
    });
    for (let i = 0; i < 50 && !(await logText(admin, id)).includes('bomb-done'); i++) await new Promise((r) => setTimeout(r, 200));
    expect((await getC(admin, id)).status).toBe('running');
    const top = (await listContainerProcesses({ client: admin, path: { id } })).data.processes;
    expect(top.length).toBeGreaterThan(5);
    expect(top.length).toBeLessThanOrEqual(20);
    const stats = (await getContainerStats({ client: admin, path: { id } })).data;
    expect(stats.pids).toMatchObject({ limit: 20 });
    expect(stats.pids.current).toBeLessThanOrEqual(20);
    expect(await logText(admin, id)).toMatch(/can't fork|Resource temporarily unavailable/);
    await forceDelete(admin, id);
  });

  it('pauses (a counter stops) and unpauses (it goes on), and reports memory in use', async () => {
    // The counter ticks every 50 ms (about 25 ticks in 1.5 s when it runs). It is written
    // through a rename, so a read never sees a half-written file.
    const { id } = await runContainer(admin, {
      image: 'busybox',
      cmd: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done'],
      resources: { memoryBytes: 64 * 1024 * 1024 },
    });
    const read = async () => {
      const n = Number((await exec(admin, id, { cmd: ['cat', '/tmp/n'] })).stdout);
      expect(n).toBeGreaterThan(0);
      return n;
    };
    await new Promise((r) => setTimeout(r, 300));
    const stats = (await getContainerStats({ client: admin, path: { id } })).data;
    expect(stats.memory.usageBytes).toBeGreaterThan(0);
    expect(stats.memory.limitBytes).toBe(64 * 1024 * 1024);
    expect(stats.cpu.onlineCpus).toBeGreaterThan(0);

    const beforePause = await read();
    const pause = await pauseContainer({ client: admin, path: { id } });
    expect(pause.response.status).toBe(202);
    expect((await finished(admin, pause.data.operation.id)).status).toBe('succeeded');
    expect((await getC(admin, id)).status).toBe('paused');
    expect((await problemOf(pauseContainer({ client: admin, path: { id } }))).status).toBe(409);
    expect((await problemOf(execInContainer({ client: admin, path: { id }, body: { cmd: ['true'] } }))).status).toBe(409);
    expect((await listContainerProcesses({ client: admin, path: { id } })).data.processes.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1500));
    const unpause = await unpauseContainer({ client: admin, path: { id } });
    expect(unpause.response.status).toBe(202);
    expect((await finished(admin, unpause.data.operation.id)).status).toBe('succeeded');
    const atThaw = await read();
    expect(atThaw - beforePause).toBeLessThan(12); // frozen for 1.5 s: only the ticks around the requests
    await new Promise((r) => setTimeout(r, 1500));
    expect((await read()) - atThaw).toBeGreaterThanOrEqual(5); // running again
    expect((await getC(admin, id)).status).toBe('running');

    // Paused again, it still deletes.
    const again = await pauseContainer({ client: admin, path: { id } });
    expect(again.response.status).toBe(202);
    expect((await finished(admin, again.data.operation.id)).status).toBe('succeeded');
    const del = await forceDelete(admin, id);
    expect((await finished(admin, del.operation.id)).status).toBe('succeeded');
  });

  it('validates limits and names the field', async () => {
    const small = await problemOf(createContainer({ client: admin, body: { image: 'busybox', cmd: ['true'], resources: { memoryBytes: 1024 } } }));
    expect(small.status).toBe(400);
    expect(small.errors[0].field).toBe('resources.memoryBytes');
    const ulimit = await problemOf(
      createContainer({
        client: admin,
        body: { image: 'busybox', cmd: ['true'], resources: { ulimits: [{ name: 'bogus', soft: 1, hard: 1 }] } } as unknown as CreateContainerRequest,
      }),
    );
    expect(ulimit.status).toBe(400);
    expect(ulimit.errors[0].field).toBe('resources.ulimits.0.name');
    const unknown = await problemOf(
      createContainer({ client: admin, body: { image: 'busybox', cmd: ['true'], security: { apparmor: 'x' } } as unknown as CreateContainerRequest }),
    );
    expect(unknown.status).toBe(400);
    expect(unknown.errors[0].field).toBe('security.apparmor');
  });

  it('applies ulimits, cpus, read-only rootfs and dropped capabilities', async () => {
    const { id } = await runContainer(admin, {
      image: 'busybox',
      cmd: ['sleep', '1000'],
      resources: { ulimits: [{ name: 'nofile', soft: 100, hard: 200 }], cpus: 0.5, shmSizeBytes: 8 * 1024 * 1024 },
      security: { readOnlyRootfs: true, capDrop: ['CHOWN'] },
    });
    const out = (
      await exec(admin, id, {
        cmd: ['sh', '-c', 'ulimit -n; ulimit -Hn; touch /x 2>&1; echo > /dev/shm/ok && echo shm-ok; chown 1 /dev/shm/ok 2>&1 || echo chown-refused'],
      })
    ).stdout;
    expect(out).toMatch(/^100\n200\n/);
    expect(out).toMatch(/Read-only file system/);
    expect(out).toMatch(/shm-ok/);
    expect(out).toMatch(/chown-refused/);
    await forceDelete(admin, id);
  });

  it('renames, keeping names unique in the team', async () => {
    const { id: a } = await runContainer(admin, { image: 'busybox', cmd: ['true'], name: uniqueName('a') });
    const b = uniqueName('b');
    await runContainer(admin, { image: 'busybox', cmd: ['true'], name: b });
    const renamed = uniqueName('renamed');
    expect((await renameContainer({ client: admin, path: { id: a }, body: { name: renamed } })).data).toMatchObject({ id: a, name: renamed });
    expect((await getC(admin, renamed)).id).toBe(a);
    const clash = await problemOf(renameContainer({ client: admin, path: { id: a }, body: { name: b } }));
    expect(clash.status).toBe(409);
    expect(clash.reason).toBe('ContainerNameInUse');
    expect((await problemOf(renameContainer({ client: admin, path: { id: a }, body: { name: 'bad name' } }))).status).toBe(400);
  });

  it('updates limits of a running container in place', async () => {
    const { id } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'], resources: { memoryBytes: 64 * 1024 * 1024, pidsLimit: 50 } });
    const up = await updateContainer({ client: admin, path: { id }, body: { resources: { memoryBytes: 128 * 1024 * 1024, pidsLimit: 30 } } });
    expect(up.response.status).toBe(202);
    expect((await finished(admin, up.data.operation.id)).status).toBe('succeeded');
    const stats = (await getContainerStats({ client: admin, path: { id } })).data;
    expect(stats.memory.limitBytes).toBe(128 * 1024 * 1024);
    expect(stats.pids.limit).toBe(30);
    expect((await getC(admin, id)).resources).toMatchObject({ memoryBytes: 128 * 1024 * 1024, pidsLimit: 30 });
    const bad = await problemOf(updateContainer({ client: admin, path: { id }, body: { resources: { memoryBytes: 10 } } }));
    expect(bad.status).toBe(400);
    expect(bad.errors[0].field).toBe('resources.memoryBytes');
    await forceDelete(admin, id);
  });

  it('restarts: a new process with a new start time', async () => {
    const { id } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'] });
    const before = await getC(admin, id);
    const restart = await restartContainer({ client: admin, path: { id }, query: { timeout: 1 } });
    expect(restart.response.status).toBe(202);
    expect((await finished(admin, restart.data.operation.id)).status).toBe('succeeded');
    const after = await getC(admin, id);
    expect(after.status).toBe('running');
    expect(after.pid).not.toBe(before.pid);
    expect(Date.parse(after.startedAt!)).toBeGreaterThan(Date.parse(before.startedAt!));
    await forceDelete(admin, id);
  });

  it('removes an autoRemove container once it exits', async () => {
    const res = await createContainer({ client: admin, body: { image: 'busybox', cmd: ['sh', '-c', 'echo bye'], autoRemove: true } });
    expect(res.response.status).toBe(202);
    expect(res.data.container.autoRemove).toBe(true);
    expect(await waitForContainer(admin, res.data.container.id, 'removed', 60)).toMatchObject({ met: true, status: 'removed' });
    expect((await problemOf(getContainer({ client: admin, path: { id: res.data.container.id } }))).status).toBe(404);
  });

  it('restarts a crashing container with on-failure:3 exactly three times', async () => {
    const res = await createContainer({
      client: admin,
      body: { image: 'busybox', cmd: ['sh', '-c', 'echo run; exit 3'], restartPolicy: { name: 'on-failure', maxRetries: 3 } },
    });
    expect(res.response.status).toBe(202);
    const id = res.data.container.id;
    expect(res.data.container.restartPolicy).toEqual({ name: 'on-failure', maxRetries: 3 });
    // Backoff 100, 200, 400 ms: the third restart comes within a few seconds.
    let c = await getC(admin, id);
    for (let i = 0; i < 100 && !(c.restartCount === 3 && c.status === 'exited'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      c = await getC(admin, id);
    }
    expect(c).toMatchObject({ status: 'exited', exitCode: 3, restartCount: 3 });
    await new Promise((r) => setTimeout(r, 1500)); // a fourth restart would come 800 ms after the third exit
    expect(await getC(admin, id)).toMatchObject({ status: 'exited', restartCount: 3 });
    expect(await logText(admin, id)).toBe('run\nrun\nrun\nrun\n');
  });

  it('suspends the restart policy after a kill with SIGKILL until the next start, but not after a signal the process handles', async () => {
    const { id: killed } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'], restartPolicy: { name: 'always' } });
    const kill = await killContainer({ client: admin, path: { id: killed } });
    expect(kill.response.status).toBe(202);
    expect((await finished(admin, kill.data.operation.id)).status).toBe('succeeded');
    expect(await waitForContainer(admin, killed, 'exited')).toMatchObject({ met: true, exitCode: 137 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(await getC(admin, killed)).toMatchObject({ status: 'exited', restartCount: 0 });
    expect((await startContainer({ client: admin, path: { id: killed } })).response.status).toBe(202);
    expect(await waitForContainer(admin, killed, 'running')).toMatchObject({ met: true });
    await forceDelete(admin, killed);

    const { id: handled } = await runContainer(admin, {
      image: 'busybox',
      cmd: ['sh', '-c', 'trap "exit 3" USR1; while true; do sleep 0.1; done'],
      restartPolicy: { name: 'on-failure' },
    });
    expect((await killContainer({ client: admin, path: { id: handled }, query: { signal: 'USR1' } })).response.status).toBe(202);
    let c = await getC(admin, handled);
    for (let i = 0; i < 100 && !(c.restartCount === 1 && c.status === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      c = await getC(admin, handled);
    }
    expect(c).toMatchObject({ status: 'running', restartCount: 1 });
    await forceDelete(admin, handled);
  });

  it('refuses autoRemove together with a restart policy', async () => {
    const res = await problemOf(
      createContainer({ client: admin, body: { image: 'busybox', cmd: ['true'], autoRemove: true, restartPolicy: { name: 'always' } } }),
    );
    expect(res.status).toBe(400);
    expect(res).toMatchObject({ reason: 'ConflictingOptions' });
    expect(res.errors[0].field).toBe('restartPolicy');
    const sometimes = { image: 'busybox', cmd: ['true'], restartPolicy: { name: 'sometimes' } } as unknown as CreateContainerRequest;
    expect((await problemOf(createContainer({ client: admin, body: sometimes }))).status).toBe(400);
  });

  it('turns a container with a failing health check unhealthy, says so in events, and waits for healthy', async () => {
    const events = openEventStream(admin, 'container.');
    try {
      const { id: sick } = await runContainer(admin, {
        image: 'busybox',
        cmd: ['sh', '-c', 'touch /tmp/ok; sleep 1000'],
        healthcheck: { cmd: ['sh', '-c', 'test -e /tmp/ok'], intervalMs: 200, timeoutMs: 2000, retries: 2 },
      });
      expect(await waitForContainer(admin, sick, 'healthy', 30)).toMatchObject({ met: true });
      expect((await getC(admin, sick)).health).toMatchObject({ status: 'healthy', failingStreak: 0, lastExitCode: 0 });

      await exec(admin, sick, { cmd: ['rm', '/tmp/ok'] });
      let c = await getC(admin, sick);
      for (let i = 0; i < 100 && c.health?.status !== 'unhealthy'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        c = await getC(admin, sick);
      }
      expect(c.health).toMatchObject({ status: 'unhealthy', lastExitCode: 1 });
      expect(c.health!.failingStreak).toBeGreaterThanOrEqual(2);
      expect(await waitForContainer(admin, sick, 'healthy', 5)).toMatchObject({ met: false });

      const seen = await events.until((e) => e.id === sick && e.type === 'container.health_status' && e.attributes?.status === 'unhealthy', 10_000);
      const mine = seen.filter((e) => e.id === sick);
      expect(mine.map((e) => e.type)).toEqual(expect.arrayContaining(['container.running', 'container.health_status']));
      expect(mine.filter((e) => e.type === 'container.health_status').map((e) => e.attributes?.status)).toEqual(
        expect.arrayContaining(['healthy', 'unhealthy']),
      );
      await forceDelete(admin, sick);
    } finally {
      await events.close();
    }
  });

  it('streams only the caller’s team’s events', async () => {
    const theirs = openEventStream(team, '');
    try {
      const { id: mine } = await runContainer(admin, { image: 'busybox', cmd: ['true'] });
      await waitForContainer(admin, mine, 'exited');
      const { id: own } = await runContainer(team, { image: 'busybox', cmd: ['true'] });
      const seen = await theirs.until((e) => e.id === own && e.type === 'container.exited', 10_000);
      expect(seen.some((e) => e.id === mine)).toBe(false);
      expect(seen.find((e) => e.id === own && e.type === 'container.exited')?.attributes).toMatchObject({ exitCode: 0 });
    } finally {
      await theirs.close();
    }
  });
});

const contract = new ContractValidator();

/**
 * Follows GET /v1/events (server-sent events) through the SDK and collects what arrives.
 * The SDK's event-stream call does not pass its answer through the client's response
 * interceptors, so the answer is checked here, as the client checks every other one:
 * status and media type against the document, then 200 and text/event-stream.
 */
function openEventStream(client: BerthClient, typePrefix: string) {
  const controller = new AbortController();
  const seen: Event[] = [];
  const waiters: (() => void)[] = [];
  let failure: unknown;
  const checkedFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const res = await fetch(input, init);
    const problems = contract.check('GET', '/v1/events', res.status, res.headers.get('content-type'), undefined);
    if (problems.length) failure = new Error(`the answer does not match openapi/openapi.json:\n  ${problems.join('\n  ')}`);
    else if (res.status !== 200 || !/text\/event-stream/.test(res.headers.get('content-type') ?? ''))
      failure = new Error(`events answered ${res.status} ${res.headers.get('content-type')}`);
    return res;
  };
  const done = (async () => {
    const { stream } = await streamEvents({
      client,
      query: typePrefix ? { type: [typePrefix] } : undefined,
      signal: controller.signal,
      fetch: checkedFetch,
      sseMaxRetryAttempts: 1,
      onSseError: (e) => (failure ??= controller.signal.aborted ? undefined : e),
    });
    for await (const event of stream) {
      if (event && typeof event === 'object') seen.push(event as unknown as Event);
      waiters.splice(0).forEach((w) => w());
    }
  })().catch((e: unknown) => (failure ??= e));
  return {
    async until(predicate: (e: Event) => boolean, timeoutMs: number): Promise<Event[]> {
      const deadline = Date.now() + timeoutMs;
      while (!seen.some(predicate)) {
        if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
        if (Date.now() > deadline) throw new Error(`no matching event in ${timeoutMs} ms; saw ${JSON.stringify(seen.map((e) => [e.type, e.id]))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
      return seen;
    },
    async close() {
      controller.abort();
      await done;
    },
  };
}
