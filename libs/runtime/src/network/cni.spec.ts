import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnavailableError } from '@berth/domain';
import { CniPluginError, CniRunner, type CniAttachment } from './cni';
import type { CniExec, CniExecResult } from './cni-exec';
import { endpointConfigList } from './conflist';
import { resolveEndpoints } from './endpoint';

interface Call {
  plugin: string;
  env: Record<string, string>;
  stdin: Record<string, unknown>;
  timeoutMs: number;
}

/** Answers each plugin call from a script and remembers it. */
function scriptedExec(answer: (plugin: string, command: string, stdin: Record<string, unknown>) => Partial<CniExecResult>) {
  const calls: Call[] = [];
  const exec: CniExec = {
    async run(path, env, stdin, timeoutMs) {
      const plugin = path.split('/').pop()!;
      const parsed = JSON.parse(stdin) as Record<string, unknown>;
      calls.push({ plugin, env, stdin: parsed, timeoutMs });
      return { exitCode: 0, stdout: '', stderr: '', ...answer(plugin, env.CNI_COMMAND, parsed) };
    },
  };
  return { exec, calls };
}

const bridgeResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'berth-a' }, { name: 'veth1234' }, { name: 'eth0', sandbox: '/var/run/netns/berth-ctr_1' }],
  ips: [{ interface: 2, address: '10.213.1.2/24', gateway: '10.213.1.1' }],
};

/** ADD: bridge makes the result, the others pass their prevResult on. */
const healthy = (plugin: string, command: string, stdin: Record<string, unknown>) =>
  command === 'ADD' ? { stdout: JSON.stringify(plugin === 'bridge' ? bridgeResult : stdin.prevResult) } : {};

describe('CniRunner', () => {
  let dir: string;
  let pluginDir: string;
  let attachment: CniAttachment;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cni-spec-'));
    pluginDir = join(dir, 'plugins');
    await mkdir(pluginDir);
    for (const plugin of ['bridge', 'portmap', 'firewall']) {
      await writeFile(join(pluginDir, plugin), '');
      await chmod(join(pluginDir, plugin), 0o755);
    }
    const [endpoint] = resolveEndpoints([
      { networkId: 'net_a', name: 'a', bridge: 'berth-a', subnet: '10.213.1.0/24', gateway: '10.213.1.1', ipAddress: '10.213.1.2', internal: false },
    ]);
    attachment = {
      containerId: 'ctr_1',
      ifName: 'eth0',
      netnsPath: '/var/run/netns/berth-ctr_1',
      config: endpointConfigList(endpoint),
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    };
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  const runner = (exec: CniExec) => new CniRunner({ stateDir: join(dir, 'state'), pluginDirs: [join(dir, 'missing'), pluginDir], timeoutMs: 1234, exec });

  it('runs ADD through the chain in order, passing each result on, and keeps the final one', async () => {
    const { exec, calls } = scriptedExec(healthy);
    const cni = runner(exec);
    await expect(cni.add(attachment)).resolves.toEqual(bridgeResult);

    expect(calls.map((c) => c.plugin)).toEqual(['bridge', 'portmap', 'firewall']);
    expect(calls[0].env).toEqual({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'ctr_1',
      CNI_NETNS: '/var/run/netns/berth-ctr_1',
      CNI_IFNAME: 'eth0',
      CNI_PATH: `${join(dir, 'missing')}:${pluginDir}`,
      PATH: expect.stringContaining('/usr/sbin'),
    });
    expect(calls.every((c) => c.timeoutMs === 1234)).toBe(true);
    expect(calls[0].stdin).not.toHaveProperty('prevResult');
    expect(calls[1].stdin).toMatchObject({ prevResult: bridgeResult, runtimeConfig: attachment.runtimeConfig, name: 'berth-net_a' });
    expect(calls[2].stdin).toMatchObject({ prevResult: bridgeResult });
    expect(calls[2].stdin).not.toHaveProperty('runtimeConfig');
    await expect(cni.record('ctr_1', 'eth0')).resolves.toMatchObject({ ...attachment, result: bridgeResult });
    await expect(cni.containers()).resolves.toEqual(['ctr_1']);
  });

  it('runs DEL in reverse with the cached result, then forgets the attachment', async () => {
    const { exec, calls } = scriptedExec(healthy);
    const cni = runner(exec);
    await cni.add(attachment);
    calls.length = 0;
    await cni.del((await cni.record('ctr_1', 'eth0'))!);
    expect(calls.map((c) => `${c.env.CNI_COMMAND} ${c.plugin}`)).toEqual(['DEL firewall', 'DEL portmap', 'DEL bridge']);
    expect(calls.every((c) => JSON.stringify(c.stdin.prevResult) === JSON.stringify(bridgeResult))).toBe(true);
    await expect(cni.record('ctr_1', 'eth0')).resolves.toBeUndefined();
    await expect(readdir(join(dir, 'state', 'attachments'))).resolves.toEqual([]);
  });

  it('records an attachment before ADD runs, so a DEL can follow a crash; DEL then names the static address', async () => {
    let recordDuringAdd: unknown;
    const cni = runner({
      run: async (_path, env) => {
        recordDuringAdd ??= JSON.parse(await readFile(join(dir, 'state', 'attachments', 'ctr_1', 'eth0.json'), 'utf8'));
        return { exitCode: 0, stdout: env.CNI_COMMAND === 'ADD' ? JSON.stringify(bridgeResult) : '', stderr: '' };
      },
    });
    await cni.add(attachment);
    expect(recordDuringAdd).toMatchObject({ containerId: 'ctr_1', ifName: 'eth0' });
    expect(recordDuringAdd).not.toHaveProperty('result');

    const { exec, calls } = scriptedExec(() => ({}));
    await runner(exec).del({ ...attachment, createdAt: '2026-11-23T00:00:00Z' });
    expect(calls[0].stdin.prevResult).toEqual({ cniVersion: '1.0.0', interfaces: [], ips: [{ address: '10.213.1.2/24', gateway: '10.213.1.1' }] });
  });

  it('turns a plugin error into an error naming the network and container, and undoes the ADD', async () => {
    const failure = { cniVersion: '1.0.0', code: 999, msg: 'failed to set bridge addr', details: 'file exists' };
    const { exec, calls } = scriptedExec((plugin, command, stdin) =>
      plugin === 'portmap' && command === 'ADD' ? { exitCode: 1, stdout: JSON.stringify(failure) } : healthy(plugin, command, stdin),
    );
    const cni = runner(exec);
    const error = await cni.add(attachment).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CniPluginError);
    expect(error).toMatchObject({ network: 'berth-net_a', containerId: 'ctr_1', plugin: 'portmap', command: 'ADD', code: 999 });
    expect((error as Error).message).toBe(
      'CNI ADD of network berth-net_a for container ctr_1 failed in plugin portmap (code 999): failed to set bridge addr (file exists)',
    );
    expect(calls.map((c) => `${c.env.CNI_COMMAND} ${c.plugin}`)).toEqual(['ADD bridge', 'ADD portmap', 'DEL firewall', 'DEL portmap', 'DEL bridge']);
    await expect(cni.record('ctr_1', 'eth0')).resolves.toBeUndefined();
  });

  it('keeps the raw output of a plugin that does not answer in JSON, and makes "try again later" Unavailable', async () => {
    const raw = runner(scriptedExec(() => ({ exitCode: 2, stderr: 'panic: runtime error' })).exec);
    await expect(raw.add(attachment)).rejects.toThrow(/failed in plugin bridge: panic: runtime error/);

    const busy = runner(scriptedExec(() => ({ exitCode: 1, stdout: JSON.stringify({ code: 11, msg: 'locked' }) })).exec);
    await expect(busy.add(attachment)).rejects.toBeInstanceOf(UnavailableError);
  });

  it('runs every DEL even when one fails, and keeps the record for a retry', async () => {
    const { exec } = scriptedExec(healthy);
    const cni = runner(exec);
    await cni.add(attachment);
    const flaky = scriptedExec((plugin) => (plugin === 'firewall' ? { exitCode: 1, stdout: JSON.stringify({ code: 5, msg: 'iptables: lock' }) } : {}));
    const retry = runner(flaky.exec);
    await expect(retry.del((await retry.record('ctr_1', 'eth0'))!)).rejects.toThrow(/firewall/);
    expect(flaky.calls.map((c) => c.plugin)).toEqual(['firewall', 'portmap', 'bridge']);
    await expect(retry.record('ctr_1', 'eth0')).resolves.toBeDefined();
  });

  it('checks against the cached result, and refuses to check what never finished', async () => {
    const { exec, calls } = scriptedExec(healthy);
    const cni = runner(exec);
    await expect(cni.check('ctr_1', 'eth0')).rejects.toThrow(/no finished attachment/);
    await cni.add(attachment);
    calls.length = 0;
    await cni.check('ctr_1', 'eth0');
    expect(calls.map((c) => `${c.env.CNI_COMMAND} ${c.plugin}`)).toEqual(['CHECK bridge', 'CHECK portmap', 'CHECK firewall']);
    expect(calls[1].stdin.prevResult).toEqual(bridgeResult);
  });

  it("lists a container's records in the order they were made (interface number on a tie)", async () => {
    const { exec } = scriptedExec(healthy);
    const cni = runner(exec);
    for (const ifName of ['eth0', 'eth1', 'eth2', 'eth10']) await cni.add({ ...attachment, ifName });
    expect((await cni.records('ctr_1')).map((r) => r.ifName)).toEqual(['eth0', 'eth1', 'eth2', 'eth10']);
  });

  it('says clearly when a plugin is missing', async () => {
    const cni = new CniRunner({ stateDir: join(dir, 'state'), pluginDirs: [join(dir, 'missing')], exec: scriptedExec(healthy).exec });
    await expect(cni.add(attachment)).rejects.toThrow(/CNI plugin bridge not found/);
  });
});
