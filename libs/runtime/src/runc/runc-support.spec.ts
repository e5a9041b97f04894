import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@berth/domain';
import { hostsFileContent } from '../network/hosts-file';
import { checkedId } from '../shared/container-id';
import { exitCodeForSignal, parseSignal } from '../shared/signals';
import { readRuncLogError } from './exec-process';
import { parseHardLimits, parseNofileHardLimit } from './host';
import { overlayMountArgs } from './overlay';
import { parseNetDev, parseProcStat, parseProcStatSystemNanos, userNames } from './proc-readers';
import { StateLayout } from './state-layout';

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

describe('parseHardLimits', () => {
  it('reads every hard limit by name, unlimited as Infinity', () => {
    const limits = [
      'Limit                     Soft Limit           Hard Limit           Units     ',
      'Max cpu time              unlimited            unlimited            seconds   ',
      'Max core file size        0                    unlimited            bytes     ',
      'Max processes             63704                63704                processes ',
      'Max open files            20000                20000                files     ',
      'Max realtime timeout      unlimited            unlimited            us        ',
    ].join('\n');
    expect(parseHardLimits(limits)).toEqual({ cpu: Infinity, core: Infinity, nproc: 63704, nofile: 20000, rttime: Infinity });
  });
});

describe('/proc readers', () => {
  it("sums the host's CPU time from /proc/stat in nanoseconds", () => {
    expect(parseProcStatSystemNanos('cpu  100 0 50 1000 10 0 5 3 0 0\ncpu0 1 2 3\n')).toBe(1165 * 10_000_000);
    expect(parseProcStatSystemNanos('')).toBeUndefined();
  });

  it('sums network bytes over interfaces but lo', () => {
    const netDev = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0',
      '  eth0:     500       5    0    0    0     0          0         0      300       3    0    0    0     0       0          0',
      '  eth1:      50       1    0    0    0     0          0         0       30       1    0    0    0     0       0          0',
    ].join('\n');
    expect(parseNetDev(netDev)).toEqual({ rxBytes: 550, txBytes: 330 });
  });

  it('reads /proc/<pid>/stat with odd command names', () => {
    expect(parseProcStat('42 (my (odd) cmd) S 1 42 42 0 -1')).toEqual({ comm: 'my (odd) cmd', state: 'S', ppid: 1 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('maps uids to names from passwd', () => {
    const names = userNames('root:x:0:0::/root:/bin/sh\nberth:x:1000:1000::/home/berth:/bin/sh\nbad line\n');
    expect(names.get(0)).toBe('root');
    expect(names.get(1000)).toBe('berth');
    expect(names.get(5)).toBeUndefined();
  });
});

describe('readRuncLogError', () => {
  it("keeps the last error of runc's JSON log", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-runc-log-'));
    try {
      const log = join(dir, 'exec.log');
      await writeFile(
        log,
        [
          '{"level":"warning","msg":"something minor","time":"2026-11-23T10:00:00Z"}',
          '{"level":"error","msg":"exec failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH","time":"2026-11-23T10:00:00Z"}',
          'not json',
        ].join('\n'),
      );
      await expect(readRuncLogError(log)).resolves.toBe('exec failed: unable to start container process: exec: "nope": executable file not found in $PATH');
      await expect(readRuncLogError(join(dir, 'missing.log'))).resolves.toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
