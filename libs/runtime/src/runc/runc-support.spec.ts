import { InvalidArgumentError } from '@berth/domain';
import { parseNofileHardLimit } from './host';
import { overlayMountArgs } from './overlay';
import { exitCodeForSignal, parseSignal } from '../shared/signals';
import { checkedId } from '../shared/container-id';
import { StateLayout } from './state-layout';
import { hostsFileContent } from './etc-files';

describe('parseSignal', () => {
  it('accepts names with or without SIG, any case, and numbers', () => {
    expect(parseSignal('SIGTERM')).toEqual({ name: 'SIGTERM', number: 15 });
    expect(parseSignal('term')).toEqual({ name: 'SIGTERM', number: 15 });
    expect(parseSignal('9')).toEqual({ name: 'SIGKILL', number: 9 });
    expect(parseSignal(10)).toEqual({ name: 'SIGUSR1', number: 10 });
    expect(parseSignal('40')).toEqual({ name: '40', number: 40 });
    expect(exitCodeForSignal(parseSignal('KILL'))).toBe(137);
  });

  it('refuses what is not a signal', () => {
    for (const bad of ['SIGNOPE', '0', '65', '', '-9', 'TERM; rm']) expect(() => parseSignal(bad)).toThrow(InvalidArgumentError);
  });
});

describe('parseNofileHardLimit', () => {
  const limits = (hard: string) =>
    `Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 ${hard}                files\n`;
  it('reads the hard limit, treating unlimited as the ceiling', () => {
    expect(parseNofileHardLimit(limits('20000'))).toBe(20000);
    expect(parseNofileHardLimit(limits('unlimited'))).toBe(1048576);
  });
});

describe('overlayMountArgs', () => {
  it('lists the top layer first in lowerdir', () => {
    expect(overlayMountArgs({ layers: ['/l/bottom', '/l/top'], upper: '/c/upper', work: '/c/work', target: '/c/rootfs' })).toEqual([
      '-t',
      'overlay',
      'overlay',
      '-o',
      'lowerdir=/l/top:/l/bottom,upperdir=/c/upper,workdir=/c/work',
      '/c/rootfs',
    ]);
  });

  it('refuses paths that would break the option string, and too many layers', () => {
    const dirs = { upper: '/c/upper', work: '/c/work', target: '/c/rootfs' };
    expect(() => overlayMountArgs({ ...dirs, layers: [] })).toThrow(InvalidArgumentError);
    expect(() => overlayMountArgs({ ...dirs, layers: ['/l/a:b'] })).toThrow(InvalidArgumentError);
    expect(() => overlayMountArgs({ ...dirs, layers: ['relative'] })).toThrow(InvalidArgumentError);
    const many = Array.from({ length: 100 }, (_, i) => `/var/lib/berth/images/layers/sha256/${String(i).padStart(64, '0')}`);
    expect(() => overlayMountArgs({ ...dirs, layers: many })).toThrow(expect.objectContaining({ reason: 'TooManyLayers' }));
  });
});

describe('StateLayout', () => {
  it('places a container under containers/<id>, its exit file under exits/', () => {
    const layout = new StateLayout('/s');
    expect(layout.file('ctr_1', 'config.json')).toBe('/s/containers/ctr_1/config.json');
    expect(layout.exitFile('ctr_1')).toBe('/s/exits/ctr_1');
    expect(layout.runcRoot).toBe('/s/runc');
  });

  it('refuses ids that are not plain names', () => {
    for (const bad of ['', '../x', 'a/b', 'a.b', '-x', 'x'.repeat(129)]) expect(() => checkedId(bad)).toThrow(InvalidArgumentError);
    expect(checkedId('ctr_01hx')).toBe('ctr_01hx');
  });
});

it('maps the hostname to loopback in /etc/hosts', () => {
  expect(hostsFileContent('box')).toBe('127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\tbox\n');
});
