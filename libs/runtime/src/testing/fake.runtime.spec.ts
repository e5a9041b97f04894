import { FakeRuntime } from './fake.runtime';
import { describeRuntimeContract } from './runtime-contract';

describeRuntimeContract('FakeRuntime', async () => ({
  runtime: new FakeRuntime(),
  image: {
    digest: 'sha256:' + 'f'.repeat(64),
    config: { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], cmd: ['sh'] },
    layerDirs: [],
  },
  cleanup: async () => undefined,
}));

describe('FakeRuntime', () => {
  it('runs a scripted program instead of the interpreter when asked', async () => {
    const runtime = new FakeRuntime({
      program: (_id, argv) =>
        argv[0] === 'server'
          ? async (process) => {
              process.write('stdout', `listening as ${process.uid}\n`);
              return 42;
            }
          : undefined,
    });
    await runtime.create({
      id: 'ctr_scripted',
      spec: { name: 's', image: 'x', env: [], labels: {}, cmd: ['server'] },
      image: { digest: 'sha256:' + '0'.repeat(64), config: {}, layerDirs: [] },
      metadata: {},
    });
    await runtime.start('ctr_scripted');
    await expect(runtime.wait('ctr_scripted')).resolves.toMatchObject({ status: 'exited', exitCode: 42 });
    const lines = [];
    for await (const line of runtime.logs('ctr_scripted')) lines.push(line.line);
    expect(lines).toEqual(['listening as 0']);
    await runtime.close();
  });

  it('reports an unknown command as sh does', async () => {
    const runtime = new FakeRuntime();
    await runtime.create({
      id: 'ctr_unknown',
      spec: { name: 's', image: 'x', env: [], labels: {}, cmd: ['sh', '-c', 'frobnicate'] },
      image: { digest: 'sha256:' + '0'.repeat(64), config: {}, layerDirs: [] },
      metadata: {},
    });
    await runtime.start('ctr_unknown');
    await expect(runtime.wait('ctr_unknown')).resolves.toMatchObject({ exitCode: 127 });
    await runtime.close();
  });
});

describe('FakeRuntime pause', () => {
  it('holds output and the exit while paused, and releases them on unpause', async () => {
    const runtime = new FakeRuntime();
    await runtime.create({
      id: 'ctr_paused',
      spec: { name: 's', image: 'x', env: [], labels: {}, cmd: ['sh', '-c', 'sleep 0.2; echo late; exit 4'] },
      image: { digest: 'sha256:' + '0'.repeat(64), config: {}, layerDirs: [] },
      metadata: {},
    });
    await runtime.start('ctr_paused');
    await runtime.pause('ctr_paused');
    await new Promise((resolve) => setTimeout(resolve, 400));
    await expect(runtime.inspect('ctr_paused')).resolves.toMatchObject({ status: 'paused' });
    const lines: string[] = [];
    for await (const line of runtime.logs('ctr_paused')) lines.push(line.line);
    expect(lines).toEqual([]);
    await runtime.unpause('ctr_paused');
    await expect(runtime.wait('ctr_paused')).resolves.toMatchObject({ status: 'exited', exitCode: 4 });
    for await (const line of runtime.logs('ctr_paused')) lines.push(line.line);
    expect(lines).toEqual(['late']);
    await runtime.close();
  });
});
