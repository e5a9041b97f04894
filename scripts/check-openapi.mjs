#!/usr/bin/env node
/**
 * The OpenAPI document's checks, run by `npm test` (scripts/berth.mjs):
 *   node scripts/check-openapi.mjs validate   openapi/openapi.json is a valid OpenAPI document
 *   node scripts/check-openapi.mjs lint       Redocly's recommended rules and Berth's own (redocly.yaml):
 *                                             no error and no warning
 *   node scripts/check-openapi.mjs breaking   its breaking changes since the newest release
 *                                             (openapi/released/) are announced in docs/api-changes.md
 * Without an argument it runs all three. The checks themselves are in lib/openapi-contract.cjs.
 */
import { spawnSync } from 'node:child_process';
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

/** Redocly lint (config: redocly.yaml, reviewed exceptions: .redocly.lint-ignore.yaml); a warning fails it too. */
function lint() {
  const cli = path.join(ROOT, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
  const run = spawnSync(process.execPath, [cli, 'lint', DOCUMENT, '--format=json', '--max-problems=1000'], { cwd: ROOT, encoding: 'utf8' });
  let report;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    process.stderr.write(`[contract] redocly lint did not answer JSON (exit ${run.status}):\n${run.stderr}\n`);
    return false;
  }
  const { errors, warnings, ignored } = report.totals;
  if (errors === 0 && warnings === 0) {
    say(`redocly lint: 0 errors, 0 warnings (${ignored} reviewed exceptions in .redocly.lint-ignore.yaml)`);
    return true;
  }
  const lines = report.problems.map((p) => `  ${p.severity} ${p.ruleId}: ${p.message} (${p.location?.[0]?.pointer ?? ''})`);
  process.stderr.write(`[contract] redocly lint: ${errors} errors, ${warnings} warnings\n${lines.join('\n')}\n`);
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
if (which && !['validate', 'lint', 'breaking'].includes(which)) {
  process.stderr.write('usage: node scripts/check-openapi.mjs [validate|lint|breaking]\n');
  process.exit(2);
}
let ok = true;
try {
  if (!which || which === 'validate') ok = (await validate()) && ok;
  if (!which || which === 'lint') ok = lint() && ok;
  if (!which || which === 'breaking') ok = breaking() && ok;
} catch (err) {
  process.stderr.write(`[contract] ${err instanceof Error ? err.message : err}\n`);
  ok = false;
}
process.exit(ok ? 0 : 1);
