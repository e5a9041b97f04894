import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FailedPreconditionError, InvalidArgumentError } from '@berth/domain';
import type { ProcessRunner } from '../shared/process-runner';
import { CniRunner } from './cni';
import type { CniExec } from './cni-exec';
import { endpointConfigList } from './conflist';
import { resolveEndpoints, type Endpoint } from './endpoint';
import { NetworkRegistry } from './network-registry';
import { HostNetworks } from './networks';

/** Strict doubles: any process or plugin run fails the test. */
const calls: string[] = [];
const noProcesses: ProcessRunner = {
  async run(file, args) {
    calls.push(`${file} ${args.join(' ')}`);
    throw new Error(`unexpected: ${file} ${args.join(' ')}`);
  },
};
const noPlugins: CniExec = {
  async run(path) {
    calls.push(path);
    throw new Error(`unexpected plugin run: ${path}`);
  },
};

const front: Endpoint = {
  networkId: 'net_front',
  name: 'front',
  bridge: 'berth-front',
  subnet: '10.213.1.0/24',
  gateway: '10.213.1.1',
  ipAddress: '10.213.1.2',
  internal: false,
};
const secret: Endpoint = {
  networkId: 'net_secret',
  name: 'secret',
  bridge: 'berth-secret',
  subnet: '10.213.2.0/24',
  gateway: '10.213.2.1',
  ipAddress: '10.213.2.2',
  internal: true,
};

describe('HostNetworks (no host access)', () => {
  let dir: string;
  let networks: HostNetworks;

  beforeEach(async () => {
    calls.length = 0;
    dir = await mkdtemp(join(tmpdir(), 'berth-networks-spec-'));
    networks = new HostNetworks({ stateDir: dir, runner: noProcesses, cniExec: noPlugins });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
    expect(calls).toEqual([]);
  });

  /** A record as an earlier attach would have left it (written through a CniRunner whose plugins answer at once). */
  async function recordAttachment(containerId: string, endpoint: Endpoint, ports = [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]) {
    const answering: CniExec = {
      run: async (_path, env, stdin) => {
        const result = JSON.parse(stdin).prevResult ?? { cniVersion: '1.0.0' };
        return { exitCode: 0, stdout: env.CNI_COMMAND === 'ADD' ? JSON.stringify(result) : '', stderr: '' };
      },
    };
    const cni = new CniRunner({ stateDir: dir, pluginDirs: ['/usr/lib/cni', '/bin'], exec: answering });
    const [resolved] = resolveEndpoints([endpoint]);
    const netnsPath = `/var/run/netns/berth-${containerId}`;
    await cni.add({ containerId, ifName: 'eth0', netnsPath, config: endpointConfigList(resolved), runtimeConfig: { portMappings: ports } });
  }

  it.each([
    ['ports through an internal network', [secret], [{ hostPort: 80, containerPort: 80, protocol: 'tcp' as const }], /internal network secret/],
    ['ports without a network', [], [{ hostPort: 80, containerPort: 80, protocol: 'tcp' as const }], /need a network/],
    ['an address outside the subnet', [{ ...front, ipAddress: '10.213.9.9' }], [], /not a host address/],
    ['two endpoints on one bridge', [front, { ...front, networkId: 'net_x', ipAddress: '10.213.1.3' }], [], /appears twice/],
  ])('refuses %s before touching the host', async (_, endpoints, ports, message) => {
    await expect(networks.attach('ctr_1', endpoints, ports)).rejects.toThrow(message);
    await expect(networks.attach('ctr_1', endpoints, ports)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('refuses an invalid container id', async () => {
    await expect(networks.attach('../x', [front])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(networks.detach('a/b')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(networks.removeNetwork('eth0')).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('refuses a host port another container publishes, before touching the host', async () => {
    await recordAttachment('ctr_owner', front);
    const port = { hostPort: 8080, containerPort: 81, protocol: 'tcp' as const, hostIp: '127.0.0.1' };
    const attaching = networks.attach('ctr_2', [{ ...front, ipAddress: '10.213.1.3' }], [port]);
    await expect(attaching).rejects.toMatchObject({
      errorClass: 'AlreadyExists',
      reason: 'PortInUse',
      message: 'host port 127.0.0.1:8080/tcp is already published by another container',
    });
  });

  it('counts ports published by Berth as taken on every address they cover', async () => {
    await recordAttachment('ctr_owner', front);
    await expect(networks.isHostPortFree(8080, 'tcp', '127.0.0.1')).resolves.toBe(false);
    await expect(networks.isHostPortFree(8080, 'tcp')).resolves.toBe(false);
  });

  it('refuses a network whose subnet clashes with another network of the host', async () => {
    await new NetworkRegistry(dir).save({ bridge: 'berth-old', networkId: 'net_old', name: 'old', subnet: '10.213.0.0/16', internal: false });
    await expect(networks.attach('ctr_1', [front])).rejects.toThrow(/overlaps 10.213.0.0\/16 of network net_old/);
  });

  it('refuses to remove a bridge a container still uses', async () => {
    await recordAttachment('ctr_owner', secret, []);
    await expect(networks.removeNetwork('berth-secret')).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(networks.removeNetwork('berth-secret')).rejects.toThrow('bridge berth-secret is still used by ctr_owner');
  });

  it('reports recorded networking, and nothing for a container without any', async () => {
    await recordAttachment('ctr_owner', front);
    await expect(networks.inspect('ctr_none')).resolves.toBeUndefined();
    await expect(networks.inspect('ctr_owner')).resolves.toEqual({
      netnsPath: '/var/run/netns/berth-ctr_owner',
      interfaces: [
        { ifName: 'eth0', networkId: 'net_front', bridge: 'berth-front', ipAddress: '10.213.1.2', prefixLength: 24, gateway: '10.213.1.1', internal: false },
      ],
      ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    });
  });
});
