import { readFile } from 'node:fs/promises';
import { newId, type ContainerSpec } from '@berth/domain';
import type { BusyboxLayer } from '../testing/busybox-rootfs';
import { leftovers, makeTestRoot, removeTestRoot } from '../testing/runc-test-root';
import { collect, describeRuntimeContract } from '../testing/runtime-contract';
import { RuncRuntime } from './runc.runtime';

/** Real runc, conmon and overlayfs (root needed). Every test root lives under /tmp/berth-runc-int-*. */

describeRuntimeContract('RuncRuntime', async () => {
  const { root, state, layer } = await makeTestRoot();
  return {
    runtime: new RuncRuntime({ root: state }),
    image: layer.image,
    leftovers: (id) => leftovers(state, id),
    cleanup: () => removeTestRoot(root, state),
  };
});

describe('RuncRuntime on a real host', () => {
  let root: string;
  let state: string;
  let layer: BusyboxLayer;
  let runtime: RuncRuntime;
  const spec = (overrides: Partial<ContainerSpec>): ContainerSpec => ({ name: 'int', image: 'busybox', env: [], labels: {}, ...overrides });
  const output = async (id: string) => (await collect(runtime.logs(id))).map((l) => l.line);

  beforeAll(async () => {
    ({ root, state, layer } = await makeTestRoot());
    runtime = new RuncRuntime({ root: state });
  });

  afterAll(async () => {
    await runtime?.close();
    if (root) await removeTestRoot(root, state);
  });

  it('keeps containers running across runtime instances: a second instance sees and stops them', async () => {
    const id = newId('container');
    await runtime.create({ id, spec: spec({ cmd: ['sleep', '1000'] }), image: layer.image, metadata: { by: 'first' } });
    const started = await runtime.start(id);
    await runtime.close();

    const second = new RuncRuntime({ root: state });
    try {
      await expect(second.inspect(id)).resolves.toMatchObject({ status: 'running', pid: started.pid, metadata: { by: 'first' } });
      expect((await second.list()).map((c) => [c.id, c.status])).toContainEqual([id, 'running']);
      await expect(second.stop(id, 1)).resolves.toMatchObject({ status: 'exited', exitCode: 137 });
      await second.remove(id);
      expect(await leftovers(state, id)).toEqual([]);
    } finally {
      await second.close();
      runtime = new RuncRuntime({ root: state });
    }
  });

  it('refuses a command that does not exist at create, leaving nothing behind', async () => {
    const id = newId('container');
    await expect(runtime.create({ id, spec: spec({ cmd: ['/no/such/program'] }), image: layer.image, metadata: {} })).rejects.toMatchObject({
      errorClass: 'InvalidArgument',
      reason: 'CommandNotRunnable',
    });
    expect(await leftovers(state, id)).toEqual([]);
  });

  it("applies Docker's defaults: NOFILE limits within the host's, read-only /etc files, hosts entry, no capabilities beyond the default set", async () => {
    const id = newId('container');
    const script = [
      'ulimit -n; ulimit -Hn',
      'grep -c "$(hostname)" /etc/hosts',
      '(echo x >> /etc/resolv.conf) 2>/dev/null && echo writable || echo read-only',
      'grep CapBnd /proc/self/status',
    ].join('; ');
    await runtime.create({ id, spec: spec({ cmd: ['sh', '-c', script] }), image: layer.image, metadata: {} });
    await runtime.start(id);
    await runtime.wait(id);
    const hostHard = Number(/Max open files\s+\S+\s+(\d+)/.exec(await readFile('/proc/self/limits', 'utf8'))?.[1]);
    expect(await output(id)).toEqual(['1024', String(Math.min(hostHard, 1048576)), '1', 'read-only', 'CapBnd:\t00000000a80425fb']);
    await runtime.remove(id);
  });

  it('measures create + start + exit of `true`', async () => {
    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const id = newId('container');
      const began = performance.now();
      await runtime.create({ id, spec: spec({ cmd: ['true'] }), image: layer.image, metadata: {} });
      await runtime.start(id);
      const info = await runtime.wait(id);
      timings.push(performance.now() - began);
      expect(info.exitCode).toBe(0);
      await runtime.remove(id);
    }
    const sorted = [...timings].sort((a, b) => a - b);
    console.log(`create+start+exit of true: ${timings.map((t) => t.toFixed(0)).join(', ')} ms (median ${sorted[2].toFixed(0)} ms)`);
  });
});
