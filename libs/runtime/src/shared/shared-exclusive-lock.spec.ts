import { SharedExclusiveLock } from './shared-exclusive-lock';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** Lets every settled promise's callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('SharedExclusiveLock', () => {
  it('lets shared holders run together', async () => {
    const lock = new SharedExclusiveLock();
    const events: string[] = [];
    const hold = gate();

    const first = lock.shared(async () => {
      events.push('first in');
      await hold.opened;
      events.push('first out');
    });
    const second = lock.shared(async () => {
      events.push('second in');
    });
    await second;
    hold.open();
    await first;

    expect(events).toEqual(['first in', 'second in', 'first out']);
  });

  it('runs an exclusive holder alone, and grants in arrival order', async () => {
    const lock = new SharedExclusiveLock();
    const events: string[] = [];
    const reading = gate();
    const collecting = gate();

    const reader = lock.shared(async () => {
      events.push('reader in');
      await reading.opened;
      events.push('reader out');
    });
    const writer = lock.exclusive(async () => {
      events.push('writer in');
      await collecting.opened;
      events.push('writer out');
    });
    const late = lock.shared(async () => {
      events.push('late reader in');
    });
    await settle();
    expect(events).toEqual(['reader in']);

    reading.open();
    await reader;
    await settle();
    expect(events).toEqual(['reader in', 'reader out', 'writer in']);

    collecting.open();
    await Promise.all([writer, late]);
    expect(events).toEqual(['reader in', 'reader out', 'writer in', 'writer out', 'late reader in']);
  });

  it('releases when the work fails', async () => {
    const lock = new SharedExclusiveLock();

    await expect(lock.exclusive(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.shared(async () => 'after')).resolves.toBe('after');
    await expect(lock.exclusive(async () => 'alone')).resolves.toBe('alone');
  });
});
