import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Every setting of the API process, read once from the environment. */
export interface ApiConfig {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  sqlitePath: string;
  redisUrl: string;
  adminToken?: string;
  /** Secret for signing download links handed to workers. */
  secret: string;
  publicUrl: string;
  maxUploadBytes: number;
  logLevel: string;
  /** Where networks created without a subnet get theirs (a /24 each). */
  networkPool: string;
}

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const dataDir = resolve(env.BERTH_DATA_DIR ?? '.berth');
  mkdirSync(dataDir, { recursive: true });
  const port = Number(env.PORT ?? env.BERTH_PORT ?? 8080);
  const host = env.BERTH_LISTEN_HOST ?? '0.0.0.0';
  const redisUrl = env.REDIS_URL;
  if (!redisUrl) throw new Error('REDIS_URL is not set (npm start sets it to a private Redis)');
  const secret = env.BERTH_SECRET;
  if (!secret || secret.length < 32) throw new Error('BERTH_SECRET must be set to at least 32 characters');
  return {
    port,
    host,
    dataDir,
    databaseUrl: env.DATABASE_URL || undefined,
    sqlitePath: env.BERTH_SQLITE_PATH ?? join(dataDir, 'berth.sqlite'),
    redisUrl,
    adminToken: env.BERTH_ADMIN_TOKEN || undefined,
    secret,
    publicUrl: (env.BERTH_PUBLIC_URL ?? `http://127.0.0.1:${port}`).replace(/\/$/, ''),
    maxUploadBytes: Number(env.BERTH_MAX_UPLOAD_BYTES ?? 8 * 1024 ** 3),
    logLevel: env.LOG_LEVEL ?? 'info',
    networkPool: env.BERTH_NETWORK_POOL ?? '10.210.0.0/16',
  };
}

export const API_CONFIG = Symbol('API_CONFIG');
