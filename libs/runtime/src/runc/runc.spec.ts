import { FailedPreconditionError, InternalError, NotFoundError } from '@berth/domain';
import type { ProcessResult, ProcessRunner } from '../shared/process-runner';
import { RuncClient, RuncError, runcArgs, runcMessage } from './runc';

/** A runner that answers from a script and remembers every call. */
function scriptedRunner(answer: (args: readonly string[]) => Partial<ProcessResult>) {
  const calls: { file: string; args: readonly string[] }[] = [];
  const runner: ProcessRunner = {
    async run(file, args) {
      calls.push({ file, args });
      return { exitCode: 0, stdout: '', stderr: '', ...answer(args) };
    },
  };
  return { runner, calls };
}

const missing = 'time="2026-11-23T09:33:07Z" level=error msg="container does not exist"\n';
const notRunning = 'time="2026-11-23T09:33:07Z" level=error msg="container not running"\n';

describe('runcArgs', () => {
  it('builds each subcommand as an argument array', () => {
    expect(runcArgs.global('/state/runc')).toEqual(['--root', '/state/runc']);
    expect(runcArgs.state('c1')).toEqual(['state', 'c1']);
    expect(runcArgs.list()).toEqual(['list', '--format', 'json']);
    expect(runcArgs.start('c1')).toEqual(['start', 'c1']);
    expect(runcArgs.kill('c1', 15)).toEqual(['kill', 'c1', '15']);
    expect(runcArgs.kill('c1', 'KILL', { all: true })).toEqual(['kill', '--all', 'c1', 'KILL']);
    expect(runcArgs.delete('c1')).toEqual(['delete', 'c1']);
    expect(runcArgs.delete('c1', { force: true })).toEqual(['delete', '--force', 'c1']);
    expect(runcArgs.pause('c1')).toEqual(['pause', 'c1']);
    expect(runcArgs.resume('c1')).toEqual(['resume', 'c1']);
    expect(runcArgs.update('c1', '/b/update.json')).toEqual(['update', '--resources', '/b/update.json', 'c1']);
    expect(runcArgs.exec('c1', '/b/p.json', '/b/p.pid')).toEqual(['exec', '--process', '/b/p.json', '--pid-file', '/b/p.pid', 'c1']);
  });
});

describe('RuncClient', () => {
  it('puts --root before every subcommand and runs the configured binary', async () => {
    const { runner, calls } = scriptedRunner(() => ({}));
    const runc = new RuncClient({ root: '/state/runc', path: '/opt/runc', runner });
    await runc.start('c1');
    await runc.kill('c1', 9);
    await runc.delete('c1', { force: true });
    expect(calls).toEqual([
      { file: '/opt/runc', args: ['--root', '/state/runc', 'start', 'c1'] },
      { file: '/opt/runc', args: ['--root', '/state/runc', 'kill', 'c1', '9'] },
      { file: '/opt/runc', args: ['--root', '/state/runc', 'delete', '--force', 'c1'] },
    ]);
  });

  it('parses state and list', async () => {
    const state = { id: 'c1', pid: 42, status: 'running', bundle: '/b', created: '2026-11-23T09:32:57Z' };
    const { runner } = scriptedRunner((args) => ({ stdout: args.includes('list') ? JSON.stringify([state]) : JSON.stringify(state) }));
    const runc = new RuncClient({ root: '/r', runner });
    await expect(runc.state('c1')).resolves.toEqual(state);
    await expect(runc.list()).resolves.toEqual([state]);
  });

  it('reads an empty list whether runc prints null or nothing', async () => {
    for (const stdout of ['null\n', '']) {
      const runc = new RuncClient({ root: '/r', runner: scriptedRunner(() => ({ stdout })).runner });
      await expect(runc.list()).resolves.toEqual([]);
    }
  });

  it('turns a non-zero exit into a RuncError with the exit code and stderr', async () => {
    const runc = new RuncClient({ root: '/r', runner: scriptedRunner(() => ({ exitCode: 1, stderr: missing })).runner });
    const err = await runc.state('c1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuncError);
    expect(err).toBeInstanceOf(InternalError);
    expect(err).toMatchObject({ exitCode: 1, stderr: missing, command: 'state' });
    expect((err as RuncError).message).toContain('container does not exist');
  });

  it('answers undefined from stateIfExists for an unknown container, and rethrows anything else', async () => {
    const unknown = new RuncClient({ root: '/r', runner: scriptedRunner(() => ({ exitCode: 1, stderr: missing })).runner });
    await expect(unknown.stateIfExists('c1')).resolves.toBeUndefined();
    const broken = new RuncClient({ root: '/r', runner: scriptedRunner(() => ({ exitCode: 2, stderr: 'boom' })).runner });
    await expect(broken.stateIfExists('c1')).rejects.toBeInstanceOf(RuncError);
  });

  it('reads its version', async () => {
    const stdout = 'runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\n';
    const { runner, calls } = scriptedRunner(() => ({ stdout }));
    await expect(new RuncClient({ root: '/r', runner }).version()).resolves.toBe('1.1.5+ds1');
    expect(calls[0].args).toEqual(['--version']);
  });
});

describe('RuncError', () => {
  it('maps "does not exist" to NotFound and "not running" to FailedPrecondition', () => {
    expect(new RuncError('kill', 1, missing).toDomainError('c1')).toBeInstanceOf(NotFoundError);
    const stopped = new RuncError('kill', 1, notRunning).toDomainError('c1');
    expect(stopped).toBeInstanceOf(FailedPreconditionError);
    expect(stopped).toMatchObject({ reason: 'ContainerNotRunning' });
    const other = new RuncError('start', 1, 'msg="cannot start an already running container"');
    expect(other.toDomainError('c1')).toBe(other);
  });

  it("keeps runc's message from its log line, unescaped", () => {
    expect(runcMessage('time="x" level=error msg="exec: \\"nope\\": executable file not found in $PATH"\n')).toBe(
      'exec: "nope": executable file not found in $PATH',
    );
    expect(runcMessage('plain failure\n')).toBe('plain failure');
    expect(runcMessage('')).toBe('no output');
  });
});
