#!/usr/bin/env node
/**
 * The OpenAPI document's checks, run by `npm test` (scripts/berth.mjs):
 *   node scripts/check-openapi.mjs validate   openapi/openapi.json is a valid OpenAPI document
 *   node scripts/check-openapi.mjs breaking   its breaking changes since the newest release
 *                                             (openapi/released/) are announced in docs/api-changes.md
 * Without an argument it runs both. The checks themselves are in lib/openapi-contract.cjs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { gate, newestRelease, validateDocument } = require('./lib/openapi-contract.cjs');

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const DOCUMENT = path.join(ROOT, 'openapi', 'openapi.json');
const RELEASED = path.join(ROOT, 'openapi', 'released');
const CHANGELOG = path.join(ROOT, 'docs', 'api-changes.md');

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

function breaking() {
  const release = newestRelease(RELEASED);
  const result = gate({
    released: readJson(release.file),
    current: readJson(DOCUMENT),
    changelog: fs.readFileSync(CHANGELOG, 'utf8'),
    version: release.version,
  });
  if (result.ok) say(`against ${path.relative(ROOT, release.file)}: ${result.report}`);
  else process.stderr.write(`[contract] against ${path.relative(ROOT, release.file)}: ${result.report}\n`);
  return result.ok;
}

const which = process.argv[2];
if (which && which !== 'validate' && which !== 'breaking') {
  process.stderr.write('usage: node scripts/check-openapi.mjs [validate|breaking]\n');
  process.exit(2);
}
let ok = true;
try {
  if (which !== 'breaking') ok = (await validate()) && ok;
  if (which !== 'validate') ok = breaking() && ok;
} catch (err) {
  process.stderr.write(`[contract] ${err instanceof Error ? err.message : err}\n`);
  ok = false;
}
process.exit(ok ? 0 : 1);
