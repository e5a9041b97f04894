/**
 * Connection options for ioredis from one URL: `redis://[:password@]host:port[/db]`,
 * `rediss://…` (TLS), or `unix:///path/to/redis.sock` for the private embedded Redis.
 */
export interface RedisConnectionOptions {
  host?: string;
  port?: number;
  path?: string;
  password?: string;
  username?: string;
  db?: number;
  tls?: Record<string, never>;
}

export function redisOptionsFromUrl(url: string): RedisConnectionOptions {
  if (url.startsWith('unix://')) return { path: url.slice('unix://'.length) };
  if (url.startsWith('/')) return { path: url };
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must start with redis://, rediss:// or unix:// (got ${u.protocol})`);
  }
  const options: RedisConnectionOptions = { host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) };
  if (u.password) options.password = decodeURIComponent(u.password);
  if (u.username) options.username = decodeURIComponent(u.username);
  const db = u.pathname.replace('/', '');
  if (db) options.db = Number(db);
  if (u.protocol === 'rediss:') options.tls = {};
  return options;
}
