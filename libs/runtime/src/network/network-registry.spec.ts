import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError } from '@berth/domain';
import { NamespaceMarks } from './namespace-marks';
import { NetworkRegistry, networkConflict, type HostNetworkRecord } from './network-registry';

const a: HostNetworkRecord = { bridge: 'berth-a', networkId: 'net_a', name: 'a', subnet: '10.213.1.0/24', internal: false };
const b: HostNetworkRecord = { bridge: 'berth-b', networkId: 'net_b', name: 'b', subnet: '10.213.2.0/24', internal: true };

describe('networkConflict', () => {
  it('accepts the same network again and networks apart', () => {
    expect(networkConflict(a, [a, b])).toBeUndefined();
  });

  it('names what clashes', () => {
    expect(networkConflict({ ...a, networkId: 'net_x' }, [a])).toBe('bridge berth-a already serves network net_a (10.213.1.0/24)');
    expect(networkConflict({ ...a, internal: true }, [a])).toMatch(/bridge berth-a already serves/);
    expect(networkConflict({ ...a, bridge: 'berth-x' }, [a])).toBe('network net_a already has bridge berth-a');
    expect(networkConflict({ ...b, networkId: 'net_c', bridge: 'berth-c', subnet: '10.213.0.0/16' }, [a])).toBe(
      'subnet 10.213.0.0/16 overlaps 10.213.1.0/24 of network net_a',
    );
  });
});

describe('NetworkRegistry', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-registry-spec-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps one record per bridge across instances, and refuses a clashing one', async () => {
    const registry = new NetworkRegistry(dir);
    await expect(registry.list()).resolves.toEqual([]);
    await registry.save(b);
    await registry.save(a);
    await registry.save(a);
    await expect(new NetworkRegistry(dir).list()).resolves.toEqual([a, b]);
    await expect(registry.save({ ...a, subnet: '10.213.9.0/24' })).rejects.toBeInstanceOf(ConflictError);
    await registry.remove('berth-a');
    await registry.remove('berth-a');
    await expect(registry.list()).resolves.toEqual([b]);
    await expect(registry.get('berth-a')).resolves.toBeUndefined();
  });
});

describe('NamespaceMarks', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-marks-spec-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('remembers which containers have a namespace made by this worker', async () => {
    const marks = new NamespaceMarks(dir);
    await expect(marks.list()).resolves.toEqual([]);
    await marks.mark('ctr_b');
    await marks.mark('ctr_a');
    await marks.mark('ctr_a');
    await expect(new NamespaceMarks(dir).list()).resolves.toEqual(['ctr_a', 'ctr_b']);
    await marks.unmark('ctr_a');
    await marks.unmark('ctr_a');
    await expect(marks.list()).resolves.toEqual(['ctr_b']);
    await expect(marks.mark('../etc')).rejects.toThrow(/invalid container id/);
  });
});
