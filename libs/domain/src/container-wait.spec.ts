import type { ContainerSpec } from './container-spec';
import type { ContainerStatus, DesiredState } from './container-state';
import { waitOutcome } from './container-wait';

const spec = (healthcheck = false) =>
  ({ name: 'c', image: 'busybox', env: [], labels: {}, ...(healthcheck ? { healthcheck: { cmd: ['true'] } } : {}) }) as ContainerSpec;
const container = (
  status: ContainerStatus,
  more: { desiredState?: DesiredState; health?: 'healthy' | 'unhealthy' | 'starting'; healthcheck?: boolean } = {},
) => ({
  status,
  desiredState: more.desiredState ?? ('running' as DesiredState),
  exitCode: status === 'exited' ? 3 : null,
  error: null,
  health: more.health ? { status: more.health, failingStreak: 0 } : null,
  spec: spec(more.healthcheck ?? more.health !== undefined),
});

describe('waitOutcome', () => {
  it('a container that is gone meets removed and nothing else', () => {
    expect(waitOutcome(null, 'removed')).toEqual({ done: true, met: true, condition: 'removed', status: 'removed', exitCode: null, error: null });
    expect(waitOutcome(null, 'running')).toMatchObject({ done: true, met: false, status: 'removed' });
  });

  it('removed is never over while the container exists', () => {
    expect(waitOutcome(container('exited'), 'removed')).toMatchObject({ done: false, met: false, status: 'exited', exitCode: 3 });
  });

  it('running: met when running, over without it when the container failed', () => {
    expect(waitOutcome(container('running'), 'running')).toMatchObject({ done: true, met: true });
    expect(waitOutcome(container('failed'), 'running')).toMatchObject({ done: true, met: false });
    expect(waitOutcome(container('pending'), 'running')).toMatchObject({ done: false, met: false });
  });

  it('exited: met on exit, over without it on failure', () => {
    expect(waitOutcome(container('exited'), 'exited')).toMatchObject({ done: true, met: true, exitCode: 3 });
    expect(waitOutcome(container('failed'), 'exited')).toMatchObject({ done: true, met: false });
    expect(waitOutcome(container('running'), 'exited')).toMatchObject({ done: false });
  });

  it('not-running: exited, failed, or created and meant to stay stopped', () => {
    expect(waitOutcome(container('exited'), 'not-running')).toMatchObject({ done: true, met: true });
    expect(waitOutcome(container('failed'), 'not-running')).toMatchObject({ done: true, met: true });
    expect(waitOutcome(container('created', { desiredState: 'stopped' }), 'not-running')).toMatchObject({ done: true, met: true });
    expect(waitOutcome(container('created'), 'not-running')).toMatchObject({ done: false, met: false });
    expect(waitOutcome(container('paused'), 'not-running')).toMatchObject({ done: false });
  });

  it('healthy: met when running and healthy; over when unhealthy, stopped, or running with no check', () => {
    expect(waitOutcome(container('running', { health: 'healthy' }), 'healthy')).toMatchObject({ done: true, met: true });
    expect(waitOutcome(container('running', { health: 'starting' }), 'healthy')).toMatchObject({ done: false, met: false });
    expect(waitOutcome(container('running', { health: 'unhealthy' }), 'healthy')).toMatchObject({ done: true, met: false });
    expect(waitOutcome(container('exited', { healthcheck: true }), 'healthy')).toMatchObject({ done: true, met: false });
    expect(waitOutcome(container('running'), 'healthy')).toMatchObject({ done: true, met: false });
    expect(waitOutcome(container('pending', { healthcheck: true }), 'healthy')).toMatchObject({ done: false });
  });
});
