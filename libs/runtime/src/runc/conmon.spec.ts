import { InternalError, InvalidArgumentError } from '@berth/domain';
import { conmonArgs, createFailure, parseConmonVersion } from './conmon';

describe('conmonArgs', () => {
  it('passes the runc root, bundle, pid files, k8s-file log, exit dir and socket dir', () => {
    expect(
      conmonArgs({
        id: 'c1',
        name: 'web',
        runcPath: '/usr/bin/runc',
        runcRoot: '/s/runc',
        bundle: '/s/containers/c1',
        containerPidFile: '/s/containers/c1/pidfile',
        conmonPidFile: '/s/containers/c1/conmon.pid',
        logPath: '/s/containers/c1/ctr.log',
        exitDir: '/s/exits',
        socketDir: '/s/sockets',
      }),
    ).toEqual([
      '--api-version',
      '1',
      '--cid',
      'c1',
      '--cuuid',
      'c1',
      '--name',
      'web',
      '--runtime',
      '/usr/bin/runc',
      '--runtime-arg',
      '--root=/s/runc',
      '--bundle',
      '/s/containers/c1',
      '--container-pidfile',
      '/s/containers/c1/pidfile',
      '--conmon-pidfile',
      '/s/containers/c1/conmon.pid',
      '--log-path',
      'k8s-file:/s/containers/c1/ctr.log',
      '--exit-dir',
      '/s/exits',
      '--socket-dir-path',
      '/s/sockets',
      '--syslog=false',
    ]);
  });
});

describe('createFailure', () => {
  it("calls a command that cannot be executed the caller's mistake", () => {
    const err = createFailure(
      'time="x" level=error msg="runc create failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH"\n',
    );
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err).toMatchObject({ reason: 'CommandNotRunnable' });
  });

  it('calls anything else an internal failure, keeping the message', () => {
    const err = createFailure('time="x" level=error msg="cgroup: permission denied"\n');
    expect(err).toBeInstanceOf(InternalError);
    expect(err.message).toContain('cgroup: permission denied');
  });
});

it('parses the conmon version', () => {
  expect(parseConmonVersion('conmon version 2.1.6\ncommit: unknown\n')).toBe('2.1.6');
});
