#!/usr/bin/env node
/**
 * The generated half of @berth/sdk (libs/sdk/src/generated), from the checked-in
 * contract by @hey-api/openapi-ts with libs/sdk/openapi-ts.config.mjs:
 *   node scripts/sdk.mjs           regenerates it (npm run sdk; npm run openapi runs it too)
 *   node scripts/sdk.mjs --check   fails when what is checked in differs from what the document gives
 */
import fs from 'node:fs';
import path from 'node:path';
import { createClient } from '@hey-api/openapi-ts';
import * as prettier from 'prettier';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SDK = path.join(ROOT, 'libs', 'sdk');
const GENERATED = path.join(SDK, 'src', 'generated');
const SCRATCH = path.join(SDK, '.generated-check');

const { default: config } = await import(path.join(SDK, 'openapi-ts.config.mjs'));

async function generate(output) {
  const cwd = process.cwd();
  process.chdir(SDK);
  try {
    await createClient({ ...config, output: { ...config.output, path: output }, logs: { level: 'silent', file: false } });
  } finally {
    process.chdir(cwd);
  }
  // Formatted as the rest of the repository is, so that the check and `prettier --check` agree.
  const options = await prettier.resolveConfig(path.join(ROOT, 'package.json'));
  for (const file of files(output)) {
    const full = path.join(output, file);
    fs.writeFileSync(full, await prettier.format(fs.readFileSync(full, 'utf8'), { ...options, filepath: full }));
  }
}

function files(dir, base = dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))]))
    .sort();
}

if (!process.argv.includes('--check')) {
  await generate(GENERATED);
  process.stdout.write(`wrote ${path.relative(ROOT, GENERATED)}\n`);
  process.exit(0);
}

fs.rmSync(SCRATCH, { recursive: true, force: true });
try {
  await generate(SCRATCH);
  const want = files(SCRATCH);
  const have = fs.existsSync(GENERATED) ? files(GENERATED) : [];
  const differ = [...new Set([...want, ...have])].filter((f) => {
    const a = path.join(SCRATCH, f);
    const b = path.join(GENERATED, f);
    return !fs.existsSync(a) || !fs.existsSync(b) || !fs.readFileSync(a).equals(fs.readFileSync(b));
  });
  if (differ.length) {
    process.stderr.write(`libs/sdk/src/generated does not match openapi/openapi.json (${differ.join(', ')}): run \`npm run sdk\` and commit the change\n`);
    process.exit(1);
  }
  process.stdout.write(`libs/sdk/src/generated matches openapi/openapi.json (${want.length} files)\n`);
} finally {
  fs.rmSync(SCRATCH, { recursive: true, force: true });
}
