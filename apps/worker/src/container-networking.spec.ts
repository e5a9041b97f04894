import { AlreadyExistsError, type ContainerNetwork, type ContainerSpec } from '@berth/domain';
import { ContainerNetworking, NetworkMetadata } from './container-networking';

const net = (networkId: string, ipAddress: string, aliases: string[] = []): ContainerNetwork => ({
  networkId,
  name: networkId,
  bridge: `berth-${networkId}`,
  subnet: '10.9.0.0/24',
  gateway: '10.9.0.1',
  internal: false,
  ipAddress,
  aliases,
});

function setup(members: Array<{ id: string; meta: NetworkMetadata }>, portFree = true) {
  const calls: string[] = [];
  const hosts = new Map<string, string>();
  const networks = {
    attach: async (id: string, _endpoints: unknown, ports: unknown[]) => {
      // As HostNetworks does: a port the host holds is refused before anything is made.
      if (ports.length && !portFree) throw new AlreadyExistsError('host port 8080/tcp is in use on this host', 'PortInUse');
      calls.push(`attach ${id}`);
      return { netnsPath: `/var/run/netns/berth-${id}`, interfaces: [], ports: [] };
    },
    detach: async (id: string) => void calls.push(`detach ${id}`),
    removeNetwork: async (bridge: string) => void calls.push(`remove ${bridge}`),
    reconcile: async () => ({ containers: [], netns: [], bridges: [], veths: [], iptablesRules: 0, chains: [], errors: [] }),
  };
  const runtime = { list: async () => [], setHosts: async (id: string, content: string) => void hosts.set(id, content) };
  const networking = new ContainerNetworking(networks as never, runtime as never, async () => members);
  return { networking, calls, hosts };
}

const spec = (networks: ContainerNetwork[], extra: Partial<ContainerSpec> = {}) => ({ name: 'x', image: 'busybox', env: [], labels: {}, networks, ...extra }) as ContainerSpec;

describe('ContainerNetworking', () => {
  it('lists peers on shared networks, by name and alias, and leaves out containers on other networks', async () => {
    const { networking, hosts } = setup([
      { id: 'ctr_a', meta: { name: 'web', hostname: 'web', networks: [net('front', '10.9.0.2', ['site'])] } },
      { id: 'ctr_b', meta: { name: 'client', networks: [net('front', '10.9.0.3'), net('back', '10.8.0.2')] } },
      { id: 'ctr_c', meta: { name: 'db', networks: [net('back', '10.8.0.3', ['database'])] } },
      { id: 'ctr_d', meta: { name: 'alone', networks: [net('other', '10.7.0.2')] } },
    ]);
    await networking.refreshHosts(new Set(['front', 'back']));
    expect(hosts.get('ctr_b')).toContain('10.9.0.2\tweb site');
    expect(hosts.get('ctr_b')).toContain('10.8.0.3\tdb database');
    expect(hosts.get('ctr_a')).toContain('10.9.0.3\tclient');
    expect(hosts.get('ctr_a')).not.toContain('db');
    expect(hosts.has('ctr_d')).toBe(false);
  });

  it('passes published ports to the host side, and a port the host holds fails the create before any network is joined', async () => {
    const { networking, calls } = setup([], false);
    await expect(networking.prepare('ctr_a', spec([net('front', '10.9.0.2')], { ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] }))).rejects.toMatchObject({ reason: 'PortInUse' });
    expect(calls).toEqual([]);
  });

  it('joins nothing for none and host modes', async () => {
    const { networking, calls } = setup([]);
    expect(await networking.prepare('ctr_a', spec([], { networkMode: 'none' }))).toBeUndefined();
    expect(await networking.prepare('ctr_a', spec([net('front', '10.9.0.2')], { networkMode: 'host' }))).toBeUndefined();
    expect(await networking.prepare('ctr_a', spec([net('front', '10.9.0.2')]))).toBe('/var/run/netns/berth-ctr_a');
    expect(calls).toEqual(['attach ctr_a']);
  });

  it('on release, removes only the bridges no other container here uses', async () => {
    const { networking, calls } = setup([{ id: 'ctr_b', meta: { name: 'b', networks: [net('front', '10.9.0.3')] } }]);
    await networking.release('ctr_a', [net('front', '10.9.0.2'), net('back', '10.8.0.2')]);
    expect(calls).toEqual(['detach ctr_a', 'remove berth-back']);
  });
});
