import { assertActionAllowed, statusFromObserved } from './container-state';
import { ConflictError, FailedPreconditionError } from './errors';

describe('the container state machine', () => {
  it('refuses to remove a running container without force, but allows it with force', () => {
    expect(() => assertActionAllowed('remove', 'running', 'ctr_x')).toThrow(ConflictError);
    expect(() => assertActionAllowed('forceRemove', 'running', 'ctr_x')).not.toThrow();
  });

  it('only kills running containers', () => {
    expect(() => assertActionAllowed('kill', 'exited', 'ctr_x')).toThrow(FailedPreconditionError);
    expect(() => assertActionAllowed('kill', 'running', 'ctr_x')).not.toThrow();
  });

  it('allows nothing while a removal is in progress', () => {
    for (const action of ['start', 'stop', 'kill', 'remove', 'forceRemove'] as const) {
      expect(() => assertActionAllowed(action, 'removing', 'ctr_x')).toThrow(/being removed/);
    }
  });

  it('keeps showing removing until the worker confirms the removal', () => {
    expect(statusFromObserved('removing', 'running')).toBe('removing');
    expect(statusFromObserved('removing', 'removed')).toBe('deleted');
    expect(statusFromObserved('running', 'exited')).toBe('exited');
    expect(statusFromObserved('pending', 'created')).toBe('created');
  });
});
