import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  newId,
  type ContainerSpec,
  type ImageConfigSummary,
  type LogLine,
  cpuPercent,
} from '@berth/domain';
import type { ContainerInfo, ContainerRuntime, ResolvedImage } from '../container-runtime';

export interface RuntimeContractSetup {
  runtime: ContainerRuntime;
  /** An image with busybox applets in /bin and a user `berth` (1000:1000). */
  image: ResolvedImage;
  cleanup(): Promise<void>;
  /** What the runtime left on the host for a container: paths, mounts (empty when clean). */
  leftovers?(id: string): Promise<string[]>;
}

/**
 * One behaviour for every ContainerRuntime adapter: each adapter's spec calls
 * this with a setup that makes its runtime and an image, and must pass it all.
 */
export function describeRuntimeContract(name: string, setup: () => Promise<RuntimeContractSetup>): void {
  describe(`ContainerRuntime contract: ${name}`, () => {
    let env: RuntimeContractSetup;
    let runtime: ContainerRuntime;
    const created: string[] = [];

    beforeAll(async () => {
      env = await setup();
      runtime = env.runtime;
    });

    afterEach(async () => {
      for (const id of created.splice(0)) await runtime.remove(id, { force: true }).catch(ignoreNotFound);
    });

    afterAll(async () => {
      await runtime?.close();
      await env?.cleanup();
    });

    const spec = (overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
      name: 'contract',
      image: 'docker.io/library/busybox:latest',
      env: [],
      labels: {},
      ...overrides,
    });
    const image = (config: Partial<ImageConfigSummary> = {}): ResolvedImage => ({
      ...env.image,
      config: { ...env.image.config, ...config },
    });
    const create = async (overrides: Partial<ContainerSpec> = {}, imageConfig?: Partial<ImageConfigSummary>, metadata = {}) => {
      const id = newId('container');
      created.push(id);
      const info = await runtime.create({ id, spec: spec(overrides), image: image(imageConfig), metadata });
      return { id, info };
    };
    const sh = (script: string) => ({ cmd: ['sh', '-c', script] });
    /** Creates, starts and waits for a container; returns its final state and its output lines. */
    const run = async (overrides: Partial<ContainerSpec>, imageConfig?: Partial<ImageConfigSummary>) => {
      const { id } = await create(overrides, imageConfig);
      await runtime.start(id);
      const info = await runtime.wait(id);
      return { id, info, lines: await collect(runtime.logs(id)) };
    };
    const output = async (overrides: Partial<ContainerSpec>, imageConfig?: Partial<ImageConfigSummary>) =>
      texts((await run(overrides, imageConfig)).lines).join('\n');
    /** Polls the log until a line reads `text` (a shell's trap is only set once it printed so). */
    const untilLogged = async (id: string, text: string) => {
      for (let i = 0; i < 100; i++) {
        if (texts(await collect(runtime.logs(id))).includes(text)) return;
        await delay(50);
      }
      throw new Error(`container ${id} never printed ${text}`);
    };

    describe('lifecycle', () => {
      it('creates a container in state created, with its metadata', async () => {
        const { id, info } = await create(sh('true'), undefined, { owner: 'team_1' });
        expect(info).toMatchObject({ id, status: 'created', metadata: { owner: 'team_1' } });
        expect(Date.parse(info.createdAt)).not.toBeNaN();
        await expect(runtime.inspect(id)).resolves.toMatchObject({ status: 'created' });
      });

      it('refuses a second container with the same id', async () => {
        const { id } = await create(sh('true'));
        await expect(runtime.create({ id, spec: spec(sh('true')), image: image(), metadata: {} })).rejects.toBeInstanceOf(AlreadyExistsError);
      });

      it('starts a container: running, with a pid and a start time', async () => {
        const { id } = await create({ cmd: ['sleep', '1000'] });
        const info = await runtime.start(id);
        expect(info.status).toBe('running');
        expect(info.pid).toBeGreaterThan(0);
        expect(Date.parse(info.startedAt ?? '')).not.toBeNaN();
        await expect(runtime.start(id)).resolves.toMatchObject({ status: 'running' });
      });

      it('runs echo hello: exit 0 and hello on stdout', async () => {
        const { info, lines } = await run({ cmd: ['echo', 'hello'] });
        expect(info).toMatchObject({ status: 'exited', exitCode: 0 });
        expect(Date.parse(info.finishedAt ?? '')).not.toBeNaN();
        expect(lines).toEqual([expect.objectContaining({ stream: 'stdout', line: 'hello' })]);
      });

      it('keeps stdout and stderr apart', async () => {
        const { id, lines } = await run(sh('echo out; echo err >&2'));
        expect(lines.map((l) => [l.stream, l.line]).sort()).toEqual([
          ['stderr', 'err'],
          ['stdout', 'out'],
        ]);
        expect(texts(await collect(runtime.logs(id, { stdout: false })))).toEqual(['err']);
        expect(texts(await collect(runtime.logs(id, { stderr: false })))).toEqual(['out']);
      });

      it('propagates the exit code', async () => {
        const { info } = await run(sh('exit 3'));
        expect(info).toMatchObject({ status: 'exited', exitCode: 3 });
      });

      it('starts an exited container again: it runs again and its log grows', async () => {
        const { id, info } = await run(sh('echo run'));
        expect(info.exitCode).toBe(0);
        await runtime.start(id);
        const again = await runtime.wait(id);
        expect(again).toMatchObject({ status: 'exited', exitCode: 0 });
        expect(texts(await collect(runtime.logs(id)))).toEqual(['run', 'run']);
      });

      it('waits: at once for a container that is not running, until exit for one that is, and stops on abort', async () => {
        const { id } = await create(sh('sleep 0.3; exit 2'));
        await expect(runtime.wait(id)).resolves.toMatchObject({ status: 'created' });
        await runtime.start(id);
        await expect(runtime.wait(id)).resolves.toMatchObject({ status: 'exited', exitCode: 2 });

        const sleeper = await create({ cmd: ['sleep', '1000'] });
        await runtime.start(sleeper.id);
        const abort = new AbortController();
        setTimeout(() => abort.abort(), 100);
        await expect(runtime.wait(sleeper.id, abort.signal)).rejects.toThrow();
      });

      it('lists containers with their states', async () => {
        const a = await create(sh('true'), undefined, { n: 1 });
        const b = await create({ cmd: ['sleep', '1000'] });
        await runtime.start(b.id);
        const listed = await runtime.list();
        expect(listed).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ id: a.id, status: 'created', metadata: { n: 1 } }),
            expect.objectContaining({ id: b.id, status: 'running' }),
          ]),
        );
      });
    });

    describe('stop and signals', () => {
      it('stop escalates to SIGKILL after the timeout (pid 1 ignores an unhandled SIGTERM)', async () => {
        const { id } = await create({ cmd: ['sleep', '1000'] });
        await runtime.start(id);
        const began = Date.now();
        const info = await runtime.stop(id, 1);
        const took = Date.now() - began;
        expect(info).toMatchObject({ status: 'exited', exitCode: 137 });
        expect(took).toBeGreaterThanOrEqual(900);
        expect(took).toBeLessThan(8000);
      });

      it('stop lets a process that traps SIGTERM exit on its own', async () => {
        const { id } = await create(sh("trap 'exit 0' TERM; echo ready; sleep 1000 & wait"));
        await runtime.start(id);
        await untilLogged(id, 'ready');
        const began = Date.now();
        const info = await runtime.stop(id, 10);
        expect(info).toMatchObject({ status: 'exited', exitCode: 0 });
        expect(Date.now() - began).toBeLessThan(5000);
      });

      it('stop sends the image stop signal first', async () => {
        const { id } = await create(sh("trap 'exit 7' USR2; echo ready; sleep 1000 & wait"), { stopSignal: 'SIGUSR2' });
        await runtime.start(id);
        await untilLogged(id, 'ready');
        await expect(runtime.stop(id, 10)).resolves.toMatchObject({ status: 'exited', exitCode: 7 });
      });

      it('stop of a container that is not running changes nothing', async () => {
        const { id } = await run(sh('exit 1'));
        await expect(runtime.stop(id, 1)).resolves.toMatchObject({ status: 'exited', exitCode: 1 });
      });

      it('kill delivers a signal by name, without SIG, or by number', async () => {
        const trapper = await create(sh("trap 'exit 5' USR1; echo ready; sleep 1000 & wait"));
        await runtime.start(trapper.id);
        await untilLogged(trapper.id, 'ready');
        await runtime.kill(trapper.id, 'USR1');
        await expect(runtime.wait(trapper.id)).resolves.toMatchObject({ status: 'exited', exitCode: 5 });

        const named = await create({ cmd: ['sleep', '1000'] });
        await runtime.start(named.id);
        await runtime.kill(named.id, 'SIGKILL');
        await expect(runtime.wait(named.id)).resolves.toMatchObject({ exitCode: 137 });

        const numbered = await create({ cmd: ['sleep', '1000'] });
        await runtime.start(numbered.id);
        await runtime.kill(numbered.id, '9');
        await expect(runtime.wait(numbered.id)).resolves.toMatchObject({ exitCode: 137 });
      });

      it('kill refuses a container that is not running, and a signal that does not exist', async () => {
        const { id } = await create(sh('true'));
        await expect(runtime.kill(id, 'SIGTERM')).rejects.toMatchObject({ reason: 'ContainerNotRunning' });
        await expect(runtime.kill(id, 'SIGTERM')).rejects.toBeInstanceOf(FailedPreconditionError);
        const running = await create({ cmd: ['sleep', '1000'] });
        await runtime.start(running.id);
        await expect(runtime.kill(running.id, 'SIGNOPE')).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(runtime.kill(running.id, '0')).rejects.toBeInstanceOf(InvalidArgumentError);
      });
    });

    describe('remove', () => {
      const expectGone = async (id: string) => {
        await expect(runtime.inspect(id)).rejects.toBeInstanceOf(NotFoundError);
        expect((await runtime.list()).map((c) => c.id)).not.toContain(id);
        if (env.leftovers) expect(await env.leftovers(id)).toEqual([]);
      };

      it('removes an exited container and a created one, leaving nothing', async () => {
        const exited = await run(sh('echo bye'));
        await runtime.remove(exited.id);
        await expectGone(exited.id);
        const fresh = await create(sh('true'));
        await runtime.remove(fresh.id);
        await expectGone(fresh.id);
      });

      it('refuses to remove a running container unless forced', async () => {
        const { id } = await create({ cmd: ['sleep', '1000'] });
        await runtime.start(id);
        await expect(runtime.remove(id)).rejects.toBeInstanceOf(FailedPreconditionError);
        await expect(runtime.inspect(id)).resolves.toMatchObject({ status: 'running' });
        await runtime.remove(id, { force: true });
        await expectGone(id);
      });

      it('answers NotFound for an unknown id everywhere', async () => {
        const id = newId('container');
        await expect(runtime.inspect(id)).rejects.toBeInstanceOf(NotFoundError);
        await expect(runtime.start(id)).rejects.toBeInstanceOf(NotFoundError);
        await expect(runtime.kill(id, 'TERM')).rejects.toBeInstanceOf(NotFoundError);
        await expect(runtime.stop(id, 1)).rejects.toBeInstanceOf(NotFoundError);
        await expect(runtime.remove(id)).rejects.toBeInstanceOf(NotFoundError);
        await expect(runtime.wait(id)).rejects.toBeInstanceOf(NotFoundError);
        await expect(collect(runtime.logs(id))).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('exit notifications', () => {
      it('calls onExit once for a process that exits on its own', async () => {
        const seen: ContainerInfo[] = [];
        const unsubscribe = runtime.onExit((info) => seen.push(info));
        try {
          await delay(50);
          const { id } = await create(sh('sleep 0.3; exit 4'));
          await runtime.start(id);
          for (let i = 0; i < 100 && !seen.some((s) => s.id === id); i++) await delay(50);
          expect(seen.filter((s) => s.id === id)).toEqual([expect.objectContaining({ status: 'exited', exitCode: 4 })]);
          await delay(1200); // past a rescan: still one report for this run
          expect(seen.filter((s) => s.id === id)).toHaveLength(1);
        } finally {
          unsubscribe();
        }
      });
    });

    describe('logs', () => {
      it('returns the last lines with tail', async () => {
        const { id } = await run(sh('echo 1; echo 2; echo 3; echo 4; echo 5'));
        expect(texts(await collect(runtime.logs(id, { tail: 2 })))).toEqual(['4', '5']);
        expect(texts(await collect(runtime.logs(id, { tail: 0 })))).toEqual([]);
        expect(texts(await collect(runtime.logs(id, { tail: 10 })))).toHaveLength(5);
      });

      it('filters by since and until (inclusive, RFC 3339 or Unix seconds)', async () => {
        const { id, lines } = await run(sh('echo early; sleep 0.3; echo late'));
        const [early, late] = lines;
        expect(texts(lines)).toEqual(['early', 'late']);
        expect(texts(await collect(runtime.logs(id, { since: late.time })))).toEqual(['late']);
        expect(texts(await collect(runtime.logs(id, { until: early.time })))).toEqual(['early']);
        const aMinuteAgo = String(Math.floor(Date.now() / 1000) - 60);
        expect(texts(await collect(runtime.logs(id, { since: aMinuteAgo })))).toEqual(['early', 'late']);
        expect(texts(await collect(runtime.logs(id, { since: '2999-01-01T00:00:00Z' })))).toEqual([]);
        await expect(collect(runtime.logs(id, { since: 'yesterday' }))).rejects.toBeInstanceOf(InvalidArgumentError);
      });

      it('follows until the container exits', async () => {
        const { id } = await create(sh('echo first; sleep 0.5; echo second'));
        await runtime.start(id);
        const began = Date.now();
        const lines = await collect(runtime.logs(id, { follow: true }));
        expect(texts(lines)).toEqual(['first', 'second']);
        expect(Date.now() - began).toBeGreaterThanOrEqual(400);
        await expect(runtime.inspect(id)).resolves.toMatchObject({ status: 'exited' });
      });

      it('stops following when the caller aborts', async () => {
        const { id } = await create(sh('echo up; sleep 1000'));
        await runtime.start(id);
        const abort = new AbortController();
        setTimeout(() => abort.abort(), 300);
        const lines = await collect(runtime.logs(id, { follow: true, signal: abort.signal }));
        expect(texts(lines)).toEqual(['up']);
      });

      it('gives each line an RFC 3339 UTC time', async () => {
        const { lines } = await run({ cmd: ['echo', 'when'] });
        expect(lines[0].time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
        expect(Math.abs(Date.parse(lines[0].time) - Date.now())).toBeLessThan(60_000);
      });
    });

    describe('process settings', () => {
      it('merges the environment: request over image, PATH, HOSTNAME and HOME set', async () => {
        const out = await output(
          { ...sh('echo "$FOO $BAR $HOSTNAME $HOME"; echo $PATH'), env: ['FOO=request'], hostname: 'envbox' },
          { env: ['FOO=image', 'BAR=image'] },
        );
        expect(out).toBe('request image envbox /root\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
      });

      it('runs in the working directory, / by default', async () => {
        expect(await output({ cmd: ['pwd'], workingDir: '/tmp' })).toBe('/tmp');
        expect(await output({ cmd: ['pwd'] }, { workingDir: '/home/berth' })).toBe('/home/berth');
        expect(await output({ cmd: ['pwd'] })).toBe('/');
      });

      it('runs as the requested user, by name or number; root by default', async () => {
        expect(await output({ cmd: ['id', '-u'], user: 'berth' })).toBe('1000');
        expect(await output({ cmd: ['id', '-u'], user: '1000' })).toBe('1000');
        expect(await output({ ...sh('id -u; id -g'), user: 'berth:berth' })).toBe('1000\n1000');
        expect(await output({ cmd: ['id', '-g'], user: '0:1000' })).toBe('1000');
        expect(await output({ cmd: ['id', '-u'] }, { user: 'berth' })).toBe('1000');
        expect(await output({ cmd: ['id', '-u'] })).toBe('0');
      });

      it('refuses an unknown user name, leaving nothing behind', async () => {
        const id = newId('container');
        await expect(runtime.create({ id, spec: spec({ cmd: ['id'], user: 'nobody-here' }), image: image(), metadata: {} })).rejects.toMatchObject({
          errorClass: 'InvalidArgument',
          reason: 'UnknownUser',
        });
        await expect(runtime.inspect(id)).rejects.toBeInstanceOf(NotFoundError);
        if (env.leftovers) expect(await env.leftovers(id)).toEqual([]);
      });

      it('sets the hostname: requested, else the last 12 characters of the id', async () => {
        expect(await output({ cmd: ['hostname'], hostname: 'box' })).toBe('box');
        const { id, lines } = await run({ cmd: ['hostname'] });
        expect(texts(lines)).toEqual([id.slice(-12)]);
      });

      it('combines entrypoint and cmd as Docker does', async () => {
        const img = { entrypoint: ['echo', 'image-entrypoint'], cmd: ['image-cmd'] };
        expect(await output({}, img)).toBe('image-entrypoint image-cmd');
        expect(await output({ cmd: ['request-cmd'] }, img)).toBe('image-entrypoint request-cmd');
        expect(await output({ entrypoint: ['echo', 'request-entrypoint'] }, img)).toBe('request-entrypoint');
        expect(await output({ entrypoint: ['echo', 'request-entrypoint'], cmd: ['request-cmd'] }, img)).toBe('request-entrypoint request-cmd');
        expect(await output({}, { entrypoint: undefined, cmd: ['echo', 'image-cmd-only'] })).toBe('image-cmd-only');
      });

      it('refuses a container without a command', async () => {
        const id = newId('container');
        await expect(runtime.create({ id, spec: spec(), image: image({ entrypoint: undefined, cmd: undefined }), metadata: {} })).rejects.toMatchObject({
          errorClass: 'InvalidArgument',
          message: 'no command specified',
        });
        await expect(runtime.inspect(id)).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('exec, stats, top, pause and update', () => {
      const MiB = 1024 * 1024;
      const running = async (overrides: Partial<ContainerSpec> = {}) => {
        const { id } = await create({ cmd: ['sleep', '1000'], ...overrides });
        const info = await runtime.start(id);
        return { id, info };
      };

      it('execs a command: stdout and stderr apart, and its exit code', async () => {
        const { id } = await running();
        await expect(runtime.exec(id, { cmd: sh('echo out; echo err >&2; exit 3').cmd, timeoutSec: 10 })).resolves.toEqual({
          exitCode: 3,
          stdout: 'out\n',
          stderr: 'err\n',
          truncated: false,
        });
        await expect(runtime.exec(id, { cmd: ['echo', 'hi'], timeoutSec: 10 })).resolves.toMatchObject({ exitCode: 0, stdout: 'hi\n' });
      });

      it("execs with the container's environment plus its own, as another user, in another directory", async () => {
        const { id } = await running({ env: ['FROM=container', 'BOTH=container'], workingDir: '/home/berth' });
        const script = sh('echo "$FROM $BOTH $EXTRA"; id -u; id -g; pwd').cmd;
        const asRoot = await runtime.exec(id, { cmd: script, env: ['BOTH=exec', 'EXTRA=exec'], timeoutSec: 10 });
        expect(asRoot.stdout).toBe('container exec exec\n0\n0\n/home/berth\n');
        const asBerth = await runtime.exec(id, { cmd: script, user: 'berth', workingDir: '/tmp', timeoutSec: 10 });
        expect(asBerth.stdout).toBe('container container \n1000\n1000\n/tmp\n');
        await expect(runtime.exec(id, { cmd: ['id'], user: 'nobody-here', timeoutSec: 10 })).rejects.toMatchObject({ reason: 'UnknownUser' });
      });

      it('refuses to exec a command that does not exist (CommandNotRunnable)', async () => {
        const { id } = await running();
        await expect(runtime.exec(id, { cmd: ['/no/such/program'], timeoutSec: 10 })).rejects.toMatchObject({
          errorClass: 'InvalidArgument',
          reason: 'CommandNotRunnable',
        });
        await expect(runtime.exec(id, { cmd: [], timeoutSec: 10 })).rejects.toBeInstanceOf(InvalidArgumentError);
      });

      it('refuses to exec in a container that is not running', async () => {
        const { id } = await create(sh('true'));
        await expect(runtime.exec(id, { cmd: ['true'], timeoutSec: 10 })).rejects.toMatchObject({ reason: 'ContainerNotRunning' });
        await runtime.start(id);
        await runtime.wait(id);
        await expect(runtime.exec(id, { cmd: ['true'], timeoutSec: 10 })).rejects.toBeInstanceOf(FailedPreconditionError);
        await expect(runtime.exec(newId('container'), { cmd: ['true'], timeoutSec: 10 })).rejects.toBeInstanceOf(NotFoundError);
      });

      it('kills an exec at its timeout: exit code 137', async () => {
        const { id } = await running();
        const began = Date.now();
        await expect(runtime.exec(id, { cmd: ['sleep', '30'], timeoutSec: 1 })).resolves.toMatchObject({ exitCode: 137 });
        expect(Date.now() - began).toBeLessThan(8000);
        await expect(runtime.inspect(id)).resolves.toMatchObject({ status: 'running' });
      });

      it('pauses and unpauses: inspect and list say paused, then running', async () => {
        const { id } = await running();
        await expect(runtime.pause(id)).resolves.toMatchObject({ status: 'paused' });
        await expect(runtime.inspect(id)).resolves.toMatchObject({ status: 'paused' });
        expect((await runtime.list()).find((c) => c.id === id)?.status).toBe('paused');
        await expect(runtime.pause(id)).resolves.toMatchObject({ status: 'paused' });
        await expect(runtime.exec(id, { cmd: ['true'], timeoutSec: 10 })).rejects.toMatchObject({ reason: 'ContainerPaused' });
        await expect(runtime.unpause(id)).resolves.toMatchObject({ status: 'running' });
        await expect(runtime.inspect(id)).resolves.toMatchObject({ status: 'running' });
        const created = await create(sh('true'));
        await expect(runtime.pause(created.id)).rejects.toMatchObject({ reason: 'ContainerNotRunning' });
      });

      it('stops, kills and force-removes a paused container', async () => {
        const stopped = await running();
        await runtime.pause(stopped.id);
        await expect(runtime.stop(stopped.id, 1)).resolves.toMatchObject({ status: 'exited', exitCode: 137 });

        const trapper = await create(sh("trap 'exit 0' TERM; echo ready; sleep 1000 & wait"));
        await runtime.start(trapper.id);
        await untilLogged(trapper.id, 'ready');
        await runtime.pause(trapper.id);
        await expect(runtime.stop(trapper.id, 10)).resolves.toMatchObject({ status: 'exited', exitCode: 0 });

        const killed = await running();
        await runtime.pause(killed.id);
        await runtime.kill(killed.id, 'KILL');
        await expect(runtime.wait(killed.id)).resolves.toMatchObject({ status: 'exited', exitCode: 137 });

        const removed = await running();
        await runtime.pause(removed.id);
        await expect(runtime.remove(removed.id)).rejects.toBeInstanceOf(FailedPreconditionError);
        await runtime.remove(removed.id, { force: true });
        await expect(runtime.inspect(removed.id)).rejects.toBeInstanceOf(NotFoundError);
        if (env.leftovers) expect(await env.leftovers(removed.id)).toEqual([]);
      });

      it("lists the container's processes with top", async () => {
        const { id, info } = await running({ user: 'berth' });
        const processes = await runtime.top(id);
        expect(processes).toContainEqual(expect.objectContaining({ pid: info.pid, user: 'berth', command: 'sleep', args: ['sleep', '1000'] }));
        processes.forEach((p) => expect(p.state).toMatch(/^[A-Za-z]$/));
        const exited = await run(sh('true'));
        await expect(runtime.top(exited.id)).rejects.toMatchObject({ reason: 'ContainerNotRunning' });
      });

      it('reports plausible stats', async () => {
        const { id } = await running({ resources: { memoryBytes: 64 * MiB, pidsLimit: 50 } });
        const first = await runtime.stats(id);
        expect(Date.parse(first.read)).not.toBeNaN();
        expect(first.cpu.usageNanos).toBeGreaterThanOrEqual(0);
        expect(first.cpu.onlineCpus).toBeGreaterThanOrEqual(1);
        expect(first.memory.usageBytes).toBeGreaterThan(0);
        expect(first.memory.usageBytes).toBeLessThan(64 * MiB);
        expect(first.memory.limitBytes).toBe(64 * MiB);
        expect(first.pids.current).toBeGreaterThanOrEqual(1);
        expect(first.pids.limit).toBe(50);
        expect(first.blockIo.readBytes).toBeGreaterThanOrEqual(0);
        await delay(100);
        const second = await runtime.stats(id);
        expect(second.cpu.usageNanos).toBeGreaterThanOrEqual(first.cpu.usageNanos);
        expect(second.cpu.systemNanos!).toBeGreaterThanOrEqual(first.cpu.systemNanos!);
        const percent = cpuPercent(first, second);
        expect(percent).toBeGreaterThanOrEqual(0);
        expect(percent).toBeLessThanOrEqual(100 * second.cpu.onlineCpus);
        const unlimited = await running();
        expect((await runtime.stats(unlimited.id)).memory.limitBytes).toBeUndefined();
      });

      it('updates the limits of a running container', async () => {
        const { id } = await running({ resources: { memoryBytes: 64 * MiB, pidsLimit: 50 } });
        await expect(runtime.update(id, { memoryBytes: 128 * MiB, cpus: 1, pidsLimit: 40 })).resolves.toBeUndefined();
        const stats = await runtime.stats(id);
        expect(stats.memory.limitBytes).toBe(128 * MiB);
        expect(stats.pids.limit).toBe(40);
        await expect(runtime.update(id, { memoryBytes: 1 })).rejects.toBeInstanceOf(InvalidArgumentError);
      });

      it('refuses invalid limits and security settings at create, leaving nothing behind', async () => {
        const bad: Partial<ContainerSpec>[] = [
          { resources: { ulimits: [{ name: 'nofile', soft: 2000, hard: 1000 }] } },
          { resources: { ulimits: [{ name: 'bogus', soft: 1, hard: 1 }] } },
          { resources: { memoryBytes: 64 * MiB, memorySwapBytes: 32 * MiB } },
          { security: { capAdd: ['NOT_A_CAP'] } },
        ];
        for (const overrides of bad) {
          const id = newId('container');
          await expect(runtime.create({ id, spec: spec({ cmd: ['true'], ...overrides }), image: image(), metadata: {} })).rejects.toBeInstanceOf(
            InvalidArgumentError,
          );
          await expect(runtime.inspect(id)).rejects.toBeInstanceOf(NotFoundError);
          if (env.leftovers) expect(await env.leftovers(id)).toEqual([]);
        }
      });
    });
  });
}

export async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

function texts(lines: LogLine[]): string[] {
  return lines.map((l) => l.line);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof NotFoundError)) throw err;
}
