import { KeyedMutex } from './keyed-mutex';

describe('KeyedMutex', () => {
  it('serialises tasks per key and lets other keys run alongside', async () => {
    const m = new KeyedMutex();
    const order: string[] = [];
    const task = (name: string, ms: number) => () => new Promise<void>((r) => setTimeout(() => (order.push(name), r()), ms));
    await Promise.all([m.run('a', task('a1', 30)), m.run('a', task('a2', 1)), m.run('b', task('b1', 5))]);
    expect(order).toEqual(['b1', 'a1', 'a2']);
  });

  it('keeps going after a task fails', async () => {
    const m = new KeyedMutex();
    await expect(m.run('a', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(m.run('a', async () => 42)).resolves.toBe(42);
  });
});
