#!/usr/bin/env node
// Writes a busybox image archive for demos and tests:
//   node scripts/build-busybox-image.mjs OUT.tar [--format oci|docker] [--ref busybox:latest]...
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const builderPath = new URL('../dist/apps/worker/libs/runtime/src/testing/image-builder.js', import.meta.url);
const busyboxPath = new URL('../dist/apps/worker/libs/runtime/src/testing/busybox-layer.js', import.meta.url);
if (!existsSync(builderPath) || !existsSync(busyboxPath)) {
  console.error('run `npm run build` first');
  process.exit(1);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { format: { type: 'string', default: 'oci' }, ref: { type: 'string', multiple: true } },
});
if (positionals.length !== 1 || !['oci', 'docker'].includes(values.format)) {
  console.error('usage: node scripts/build-busybox-image.mjs OUT.tar [--format oci|docker] [--ref busybox:latest]');
  process.exit(2);
}

const require = createRequire(import.meta.url);
const { buildImageArchive } = require(fileURLToPath(builderPath));
const { busyboxLayer, BUSYBOX_IMAGE_CONFIG } = require(fileURLToPath(busyboxPath));
const references = values.ref ?? ['busybox:latest'];
const archive = await buildImageArchive({
  format: values.format,
  images: [{ references, layers: [await busyboxLayer()], config: BUSYBOX_IMAGE_CONFIG }],
});
await writeFile(positionals[0], archive);
console.log(`${positionals[0]}: ${values.format} archive of ${references.join(', ')} (${archive.length} bytes)`);
