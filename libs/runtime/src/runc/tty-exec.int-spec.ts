import { newId } from '@berth/domain';
import type { BusyboxLayer } from '../testing/busybox-rootfs';
import { leftovers, makeTestRoot, removeTestRoot } from '../testing/runc-test-root';
import { RuncRuntime } from './runc.runtime';

/** An interactive exec with a terminal, on real runc: input in, output out, resize passed on. */
describe('RuncRuntime exec with a terminal', () => {
  let root: string;
  let state: string;
  let layer: BusyboxLayer;
  let runtime: RuncRuntime;
  const id = newId('container');

  beforeAll(async () => {
    ({ root, state, layer } = await makeTestRoot());
    runtime = new RuncRuntime({ root: state });
    await runtime.create({ id, spec: { name: 'tty', image: 'busybox', cmd: ['sleep', '1000'], env: [], labels: {} }, image: layer.image, metadata: {} });
    await runtime.start(id);
  });

  afterAll(async () => {
    await runtime.remove(id, { force: true }).catch(() => undefined);
    expect(await leftovers(state, id)).toEqual([]);
    await runtime.close();
    await removeTestRoot(root, state);
  });

  it('echoes input, reports its size, follows a resize and gives the exit code', async () => {
    const session = await runtime.execTty(id, { cmd: ['sh'], cols: 80, rows: 24 });
    let output = '';
    session.onData((chunk) => (output += chunk));
    const waitFor = async (text: string) => {
      for (let i = 0; i < 100 && !output.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
      expect(output).toContain(text);
    };
    session.write('stty size; echo sum-$((20+22))\r');
    await waitFor('24 80');
    await waitFor('sum-42');
    session.resize(132, 43);
    await new Promise((r) => setTimeout(r, 200));
    session.write('stty size\r');
    await waitFor('43 132');
    session.write('exit 5\r');
    await expect(session.exited).resolves.toBe(5);
  });

  it('refuses a container that is not running', async () => {
    await expect(runtime.execTty(newId('container'), { cmd: ['sh'], cols: 80, rows: 24 })).rejects.toMatchObject({ errorClass: 'NotFound' });
  });
});
