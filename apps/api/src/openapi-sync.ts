import 'reflect-metadata';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { loadApiConfig } from './config';
import { buildOpenApiDocument } from './openapi';

/** Where the contract is checked in, from the repository's root. */
export const OPENAPI_PATH = 'openapi/openapi.json';

/**
 * Writes the API's OpenAPI document to openapi/openapi.json, or with `--check`
 * fails when the checked-in one differs from what the code describes (the drift
 * gate of `npm test`). The module graph is built without listening, migrating,
 * or starting any background work; nothing is asked of Redis or the database.
 */
async function main(): Promise<number> {
  // dist/apps/api/apps/api/src → the repository's root
  const root = resolve(__dirname, '../../../../../..');
  const target = join(root, OPENAPI_PATH);
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-openapi-'));
  try {
    const config = loadApiConfig({ BERTH_DATA_DIR: dataDir, REDIS_URL: 'redis://127.0.0.1:1', BERTH_SECRET: 'openapi-'.repeat(8) });
    const app = await NestFactory.create(AppModule.forRoot({ config, background: false }), { logger: false });
    const text = `${JSON.stringify(buildOpenApiDocument(app, config.publicUrl), null, 2)}\n`;
    if (!process.argv.includes('--check')) {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, text);
      process.stdout.write(`wrote ${OPENAPI_PATH}\n`);
      return 0;
    }
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      // missing: reported as out of date below
    }
    if (current === text) return 0;
    process.stderr.write(`${OPENAPI_PATH} does not match the API: run \`npm run openapi\` and commit the change\n`);
    return 1;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`openapi: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
