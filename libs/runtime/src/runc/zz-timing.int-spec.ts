import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '@berth/domain';
import { makeBusyboxLayer } from '../testing/busybox-rootfs';
import { RuncRuntime } from './runc.runtime';
import { execFileRunner, type ProcessRunner } from './process-runner';
const log: string[] = [];
const runner: ProcessRunner = { async run(f, a, o) { const t = performance.now(); const r = await execFileRunner.run(f, a, o); log.push(`${f.split('/').pop()} ${a.filter(x => !x.startsWith('/')).slice(0,3).join(' ')} ${(performance.now()-t).toFixed(0)}`); return r; } };

it('phases', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-timing-'));
  const layer = await makeBusyboxLayer({ parent: root });
  const runtime = new RuncRuntime({ root: join(root, 'state'), runner });
  const rows: string[] = [];
  for (let i = 0; i < 6; i++) {
    const id = newId('container');
    const t0 = performance.now();
    await runtime.create({ id, spec: { name: 'x', image: 'x', env: [], labels: {}, cmd: ['true'] }, image: layer.image, metadata: {} });
    const t1 = performance.now();
    await runtime.start(id);
    const t2 = performance.now();
    await runtime.wait(id);
    const t3 = performance.now();
    await runtime.remove(id);
    const t4 = performance.now();
    rows.push(`create ${(t1 - t0).toFixed(0)} start ${(t2 - t1).toFixed(0)} wait ${(t3 - t2).toFixed(0)} remove ${(t4 - t3).toFixed(0)}`);
  }
  console.log(rows.join('\n') + '\n' + log.slice(-12).join('\n'));
  await runtime.close();
  await rm(root, { recursive: true, force: true });
});
