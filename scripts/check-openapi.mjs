#!/usr/bin/env node
/**
 * The OpenAPI document's checks, run by `npm test` (scripts/berth.mjs):
 *   node scripts/check-openapi.mjs validate   openapi/openapi.json is a valid OpenAPI document
 * Without an argument it runs them all. The checks themselves are in lib/openapi-contract.cjs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { validateDocument } = require('./lib/openapi-contract.cjs');

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const DOCUMENT = path.join(ROOT, 'openapi', 'openapi.json');

const say = (msg) => process.stdout.write(`[contract] ${msg}\n`);
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

async function validate() {
  const problems = await validateDocument(readJson(DOCUMENT));
  if (!problems.length) {
    say('openapi/openapi.json is a valid OpenAPI document');
    return true;
  }
  process.stderr.write(`[contract] openapi/openapi.json is not a valid OpenAPI document:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  return false;
}

const which = process.argv[2];
if (which && which !== 'validate') {
  process.stderr.write('usage: node scripts/check-openapi.mjs [validate]\n');
  process.exit(2);
}
let ok = true;
try {
  ok = (await validate()) && ok;
} catch (err) {
  process.stderr.write(`[contract] ${err instanceof Error ? err.message : err}\n`);
  ok = false;
}
process.exit(ok ? 0 : 1);
