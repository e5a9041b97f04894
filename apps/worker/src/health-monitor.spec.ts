import { nextHealth } from './health-monitor';

const at = new Date('2026-11-23T00:00:00Z');
const starting = { status: 'starting' as const, failingStreak: 0 };

describe('health verdicts (Docker’s rules)', () => {
  it('turn healthy on the first success and reset the streak', () => {
    expect(nextHealth({ status: 'unhealthy', failingStreak: 5 }, { exitCode: 0, output: 'ok', at }, false, 3)).toMatchObject({
      status: 'healthy',
      failingStreak: 0,
      lastOutput: 'ok',
      lastExitCode: 0,
    });
  });

  it('turn unhealthy after `retries` failures in a row', () => {
    let h = nextHealth({ status: 'healthy', failingStreak: 0 }, { exitCode: 1, output: '', at }, false, 2);
    expect(h).toMatchObject({ status: 'healthy', failingStreak: 1 });
    h = nextHealth(h, { exitCode: 1, output: 'down', at }, false, 2);
    expect(h).toMatchObject({ status: 'unhealthy', failingStreak: 2, lastOutput: 'down' });
  });

  it('do not count failures during the start period before a first success', () => {
    const h = nextHealth(starting, { exitCode: 1, output: '', at }, true, 1);
    expect(h).toMatchObject({ status: 'starting', failingStreak: 0 });
    expect(nextHealth(starting, { exitCode: 1, output: '', at }, false, 1)).toMatchObject({ status: 'unhealthy', failingStreak: 1 });
  });

  it('keep at most 4 KiB of output', () => {
    expect(nextHealth(starting, { exitCode: 1, output: 'x'.repeat(10000), at }, false, 3).lastOutput).toHaveLength(4096);
  });
});
