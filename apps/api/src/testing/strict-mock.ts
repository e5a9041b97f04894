/**
 * A strict mock of a class: every method the test did not give fails loudly when
 * called, so an unexpected call is a failing test rather than a silent `undefined`.
 *
 *   const hosts = strictMock<HostsService>({ get: jest.fn().mockResolvedValue(host) });
 */
/** What Nest, Jest and promises look for on any object; absent on a mock unless given. */
const PROBED = new Set([
  'then',
  'asymmetricMatch',
  'nodeType',
  'toJSON',
  'constructor',
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

export function strictMock<T extends object>(implemented: Partial<{ [K in keyof T]: T[K] }> = {}): jest.Mocked<T> {
  return new Proxy(implemented as jest.Mocked<T>, {
    get(target, prop, receiver) {
      if (prop in target) return Reflect.get(target, prop, receiver);
      if (typeof prop === 'symbol' || PROBED.has(prop)) return undefined;
      return () => {
        throw new Error(`unexpected call: ${String(prop)}()`);
      };
    },
  });
}
