import { killSuspendsRestartPolicy, restartDelayMs, shouldRestart } from './restart-policy';

const exit = (exitCode: number, restartCount = 0, stoppedByUser = false) => ({ exitCode, restartCount, stoppedByUser });

describe('restart policies', () => {
  it('never restart without a policy, with "no", or after the user stopped the container', () => {
    expect(shouldRestart(undefined, exit(1))).toBe(false);
    expect(shouldRestart({ name: 'no' }, exit(1))).toBe(false);
    expect(shouldRestart({ name: 'always' }, exit(1, 0, true))).toBe(false);
    expect(shouldRestart({ name: 'unless-stopped' }, exit(0, 0, true))).toBe(false);
  });

  it('restart always and unless-stopped whatever the exit code', () => {
    expect(shouldRestart({ name: 'always' }, exit(0, 50))).toBe(true);
    expect(shouldRestart({ name: 'unless-stopped' }, exit(137))).toBe(true);
  });

  it('restart on-failure only after a non-zero exit, up to maxRetries', () => {
    expect(shouldRestart({ name: 'on-failure' }, exit(0))).toBe(false);
    expect(shouldRestart({ name: 'on-failure' }, exit(1, 100))).toBe(true);
    expect(shouldRestart({ name: 'on-failure', maxRetries: 3 }, exit(1, 2))).toBe(true);
    expect(shouldRestart({ name: 'on-failure', maxRetries: 3 }, exit(1, 3))).toBe(false);
  });

  it('are suspended by a kill with SIGKILL or the stop signal, not by a signal a process can live through', () => {
    expect(['KILL', 'SIGKILL', '9', 'TERM', 'sigterm', '15'].map((s) => killSuspendsRestartPolicy(s))).toEqual([true, true, true, true, true, true]);
    expect(['USR1', 'SIGHUP', '10'].map((s) => killSuspendsRestartPolicy(s))).toEqual([false, false, false]);
    expect(killSuspendsRestartPolicy('SIGQUIT', 'SIGQUIT')).toBe(true);
    expect(killSuspendsRestartPolicy('SIGTERM', 'SIGQUIT')).toBe(false);
  });

  it('back off from 100 ms, doubling, up to a minute', () => {
    expect([0, 1, 2, 3].map(restartDelayMs)).toEqual([100, 200, 400, 800]);
    expect(restartDelayMs(10)).toBe(60_000);
    expect(restartDelayMs(1000)).toBe(60_000);
  });
});
