import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlreadyExistsError, type ContainerNetwork, type ContainerSpec, type NetworkSyncJob } from '@berth/domain';
import { ContainerNetworking, NetworkMetadata, type ContainerNetworkingOptions } from './container-networking';

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

function setup(members: Array<{ id: string; meta: NetworkMetadata }>, portFree = true, options: ContainerNetworkingOptions = {}) {
  const calls: string[] = [];
  const endpoints: unknown[] = [];
  const overlays: Array<{ bridge: string; spec: unknown }> = [];
  const hosts = new Map<string, string>();
  const networks = {
    attach: async (id: string, _endpoints: unknown, ports: unknown[]) => {
      // As HostNetworks does: a port the host holds is refused before anything is made.
      if (ports.length && !portFree) throw new AlreadyExistsError('host port 8080/tcp is in use on this host', 'PortInUse');
      calls.push(`attach ${id}`);
      endpoints.push(...(_endpoints as unknown[]));
      return { netnsPath: `/var/run/netns/berth-${id}`, interfaces: [], ports: [] };
    },
    detach: async (id: string) => void calls.push(`detach ${id}`),
    removeNetwork: async (bridge: string) => void calls.push(`remove ${bridge}`),
    reconcile: async () => ({ containers: [], netns: [], bridges: [], veths: [], iptablesRules: 0, chains: [], errors: [] }),
    setOverlay: async (bridge: string, spec: unknown) => {
      overlays.push({ bridge, spec });
      return true;
    },
  };
  const runtime = { list: async () => [], setHosts: async (id: string, content: string) => void hosts.set(id, content) };
  const networking = new ContainerNetworking(networks as never, runtime as never, async () => members, options);
  return { networking, calls, hosts, endpoints, overlays };
}

const spec = (networks: ContainerNetwork[], extra: Partial<ContainerSpec> = {}) =>
  ({ name: 'x', image: 'busybox', env: [], labels: {}, networks, ...extra }) as ContainerSpec;

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
    await expect(
      networking.prepare('ctr_a', spec([net('front', '10.9.0.2')], { ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })),
    ).rejects.toMatchObject({ reason: 'PortInUse' });
    expect(calls).toEqual([]);
  });

  it('joins nothing for none and host modes', async () => {
    const { networking, calls } = setup([]);
    expect(await networking.prepare('ctr_a', spec([], { networkMode: 'none' }))).toBeUndefined();
    expect(await networking.prepare('ctr_a', spec([net('front', '10.9.0.2')], { networkMode: 'host' }))).toBeUndefined();
    expect(await networking.prepare('ctr_a', spec([net('front', '10.9.0.2')]))).toBe('/var/run/netns/berth-ctr_a');
    expect(calls).toEqual(['attach ctr_a']);
  });

  it('keeps an unused bridge for the idle time, and keeps it for good when a container joins meanwhile', async () => {
    jest.useFakeTimers();
    try {
      const { networking, calls } = setup([], true, { bridgeIdleMs: 30_000 });
      await networking.release('ctr_a', [net('front', '10.9.0.2'), net('back', '10.8.0.2')]);
      expect(calls).toEqual(['detach ctr_a']);
      await networking.prepare('ctr_b', spec([net('front', '10.9.0.3')]));
      await jest.advanceTimersByTimeAsync(30_000);
      // back was idle for its whole time; front was taken again before that.
      expect(calls).toEqual(['detach ctr_a', 'attach ctr_b', 'remove berth-back']);
      await networking.release('ctr_c', [net('other', '10.7.0.2')]);
      networking.close();
      await jest.advanceTimersByTimeAsync(60_000);
      expect(calls).not.toContain('remove berth-other');
    } finally {
      jest.useRealTimers();
    }
  });

  it('on release, removes only the bridges no other container here uses', async () => {
    const { networking, calls } = setup([{ id: 'ctr_b', meta: { name: 'b', networks: [net('front', '10.9.0.3')] } }]);
    await networking.release('ctr_a', [net('front', '10.9.0.2'), net('back', '10.8.0.2')]);
    expect(calls).toEqual(['detach ctr_a', 'remove berth-back']);
  });

  describe("with the control plane's view of each network (network.sync)", () => {
    let syncDir: string;
    beforeEach(async () => {
      syncDir = await mkdtemp(join(tmpdir(), 'berth-syncs-'));
    });
    afterEach(() => rm(syncDir, { recursive: true, force: true }));

    const overlay = { address: '192.0.2.1', mtu: 1450 };
    const sync = (revision: number, extra: Partial<NetworkSyncJob> = {}): NetworkSyncJob => ({
      networkId: 'front',
      bridge: 'berth-front',
      revision,
      vni: 4100,
      hosts: [
        { hostId: 'host_a', name: 'a', overlayAddress: '192.0.2.1' },
        { hostId: 'host_b', name: 'b', overlayAddress: '192.0.2.2' },
        { hostId: 'host_c', name: 'c' },
      ],
      endpoints: [
        { containerId: 'ctr_a', name: 'web', hostId: 'host_a', ipAddress: '10.9.0.2', aliases: [] },
        { containerId: 'ctr_b', name: 'api', hostId: 'host_b', ipAddress: '10.9.0.3', aliases: ['backend'] },
        { containerId: 'ctr_c', name: 'far', hostId: 'host_c', ipAddress: '10.9.0.4', aliases: [] },
      ],
      ...extra,
    });
    const local = [{ id: 'ctr_a', meta: { name: 'web', networks: [net('front', '10.9.0.2')] } }];

    it('lists members on other hosts it can reach, and joins the bridge to those hosts only', async () => {
      const { networking, hosts, overlays } = setup(local, true, { hostName: 'a', syncDir, overlay });
      expect(await networking.sync(sync(3))).toEqual({ applied: true });
      expect(hosts.get('ctr_a')).toContain('10.9.0.3\tapi backend');
      // Host c has no overlay address: its member is not reachable, so not listed.
      expect(hosts.get('ctr_a')).not.toContain('far');
      expect(overlays).toEqual([{ bridge: 'berth-front', spec: { vni: 4100, localAddress: '192.0.2.1', peers: ['192.0.2.2'] } }]);
    });

    it('ignores a sync older than the one it has', async () => {
      const { networking, hosts } = setup(local, true, { hostName: 'a', syncDir, overlay });
      await networking.sync(sync(5));
      const moved = sync(4, { endpoints: [{ containerId: 'ctr_b', name: 'stale', hostId: 'host_b', ipAddress: '10.9.0.9', aliases: [] }] });
      expect(await networking.sync(moved)).toEqual({ applied: false });
      expect(hosts.get('ctr_a')).toContain('api');
      expect(hosts.get('ctr_a')).not.toContain('stale');
    });

    it('names containers as the control plane does, so a rename reaches the hosts files', async () => {
      const members = [...local, { id: 'ctr_d', meta: { name: 'old-name', networks: [net('front', '10.9.0.5')] } }];
      const { networking, hosts } = setup(members, true, { hostName: 'a', syncDir, overlay });
      await networking.sync(
        sync(2, { endpoints: [...sync(2).endpoints, { containerId: 'ctr_d', name: 'new-name', hostId: 'host_a', ipAddress: '10.9.0.5', aliases: [] }] }),
      );
      expect(hosts.get('ctr_a')).toContain('10.9.0.5\tnew-name');
      expect(hosts.get('ctr_a')).not.toContain('old-name');
    });

    it("without an overlay lists only this host's members and joins no bridge to other hosts", async () => {
      const { networking, hosts, overlays } = setup(local, true, { hostName: 'a', syncDir });
      await networking.sync(sync(1));
      expect(hosts.get('ctr_a')).not.toContain('api');
      expect(overlays).toEqual([]);
    });

    it('joins a bridge made after the sync arrived, and gives containers the overlay MTU', async () => {
      const { networking, overlays, endpoints } = setup([], true, { hostName: 'a', syncDir, overlay });
      await networking.sync(sync(1));
      overlays.length = 0;
      await networking.prepare('ctr_a', spec([net('front', '10.9.0.2')]));
      expect(endpoints).toEqual([expect.objectContaining({ networkId: 'front', mtu: 1450 })]);
      expect(overlays).toEqual([{ bridge: 'berth-front', spec: { vni: 4100, localAddress: '192.0.2.1', peers: ['192.0.2.2'] } }]);
    });

    it('keeps the last sync it applied when applying a newer one fails, so a retry applies it whole', async () => {
      const { networking, overlays } = setup(local, true, { hostName: 'a', syncDir, overlay });
      await networking.sync(sync(1));
      const failing = networking as unknown as { networks: { setOverlay: () => Promise<boolean> } };
      const real = failing.networks.setOverlay;
      failing.networks.setOverlay = async () => {
        throw new Error('ip link add failed');
      };
      await expect(networking.sync(sync(2))).rejects.toThrow('ip link add failed');
      failing.networks.setOverlay = real;
      overlays.length = 0;
      expect(await networking.sync(sync(2))).toEqual({ applied: true });
      expect(overlays).toHaveLength(1);
    });

    it('forgets at start the syncs of networks no container here is on', async () => {
      const { networking } = setup([], true, { hostName: 'a', syncDir, overlay });
      await networking.sync(sync(1));
      expect(await readdir(syncDir)).toEqual(['front.json']);
      await networking.reconcile();
      expect(await readdir(syncDir)).toEqual([]);
    });
  });
});
