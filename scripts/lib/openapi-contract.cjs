'use strict';
/**
 * Checks of the checked-in OpenAPI document, run by scripts/check-openapi.mjs:
 *
 * - validity: @apidevtools/swagger-parser dereferences the document and validates it
 *   against the OpenAPI schema; the operationIds, which clients name their functions
 *   after, are each present and unique (the parser checks those for Swagger 2 only);
 * - the breaking-change gate: the newest released document (openapi/released/<semver>.json)
 *   is diffed against the current one with api-smart-diff, and every breaking change must
 *   be announced in the `## Unreleased` section of docs/api-changes.md.
 *
 * An announcement is a list item in that section naming, in a code span, the operation
 * as `METHOD /path` (the path as the document writes it), or a JSON pointer into the
 * document (`/security`; a `*` segment matches any one segment). It covers every breaking
 * change of that operation, or at or under that pointer.
 */
const fs = require('node:fs');
const path = require('node:path');
const SwaggerParser = require('@apidevtools/swagger-parser');
const { apiCompare } = require('api-smart-diff');

/** A deep copy of a JSON document. */
const copy = (document) => JSON.parse(JSON.stringify(document));

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/**
 * Components reached through $ref: api-smart-diff reports their changes again at every
 * operation that uses them, where they reach the wire. Under their own names they are
 * skipped, so renaming a schema is not a change of the contract. Security schemes are
 * named, not referenced, and stay.
 */
const REFERENCED_COMPONENTS = new Set(['schemas', 'responses', 'parameters', 'requestBodies', 'headers', 'examples', 'links', 'callbacks', 'pathItems']);

/** What is wrong with the document, as lines; none when it is valid. */
async function validateDocument(document) {
  const problems = [];
  try {
    // The parser dereferences in place: it gets a copy.
    await SwaggerParser.validate(copy(document));
  } catch (err) {
    const lines = String(err instanceof Error ? err.message : err)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    problems.push(...lines);
  }
  const seen = new Map();
  for (const [p, item] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (!op) continue;
      const where = `${method.toUpperCase()} ${p}`;
      if (typeof op.operationId !== 'string' || !op.operationId) problems.push(`${where} has no operationId`);
      else if (seen.has(op.operationId)) problems.push(`${where} has the operationId ${op.operationId} of ${seen.get(op.operationId)} too`);
      else seen.set(op.operationId, where);
    }
  }
  return problems;
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/;

/** Orders two semver versions (build metadata aside): negative when a is older. */
function compareVersions(a, b) {
  const [ma, mb] = [SEMVER.exec(a), SEMVER.exec(b)];
  if (!ma || !mb) throw new Error(`not a semver version: ${ma ? b : a}`);
  for (let i = 1; i <= 3; i++) if (+ma[i] !== +mb[i]) return +ma[i] - +mb[i];
  if (!ma[4] || !mb[4]) return (ma[4] ? -1 : 0) - (mb[4] ? -1 : 0); // a release follows its pre-releases
  const [pa, pb] = [ma[4].split('.'), mb[4].split('.')];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue;
    const [na, nb] = [/^\d+$/.test(pa[i]), /^\d+$/.test(pb[i])];
    if (na && nb) return +pa[i] - +pb[i];
    if (na !== nb) return na ? -1 : 1;
    return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** The newest release in dir (files named <semver>.json), by semver. */
function newestRelease(dir) {
  const releases = [];
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (!name.endsWith('.json')) continue;
    const version = name.slice(0, -'.json'.length);
    if (!SEMVER.test(version)) throw new Error(`${path.join(dir, name)}: a released document is named by its version, <semver>.json`);
    releases.push({ version, file: path.join(dir, name) });
  }
  if (!releases.length) throw new Error(`${dir} holds no released document (<semver>.json): the gate has nothing to compare with`);
  return releases.sort((a, b) => compareVersions(a.version, b.version)).at(-1);
}

function isNullSchema(s) {
  return (
    !!s && typeof s === 'object' && Object.keys(s).length === 1 && (s.type === 'null' || (Array.isArray(s.type) && s.type.length === 1 && s.type[0] === 'null'))
  );
}

/**
 * OpenAPI 3.0 says `nullable: true`, 3.1 says `type: [T, "null"]` or a `{type: "null"}`
 * branch; api-smart-diff takes one for the other as a change. Both documents are
 * compared with 3.0's spelling, so moving between the two versions changes nothing.
 */
function nullableSpelledOneWay(node) {
  if (Array.isArray(node)) return node.map(nullableSpelledOneWay);
  if (!node || typeof node !== 'object') return node;
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, nullableSpelledOneWay(v)]));
  if (Array.isArray(out.type) && out.type.includes('null') && out.type.length > 1) {
    const rest = out.type.filter((t) => t !== 'null');
    out.type = rest.length === 1 ? rest[0] : rest;
    out.nullable = true;
  }
  for (const key of ['anyOf', 'oneOf']) {
    if (!Array.isArray(out[key]) || !out[key].some(isNullSchema) || out[key].length < 2) continue;
    const rest = out[key].filter((s) => !isNullSchema(s));
    out.nullable = true;
    if (rest.length === 1) {
      delete out[key];
      out.allOf = [...(out.allOf ?? []), rest[0]];
    } else out[key] = rest;
  }
  return out;
}

/** The document's security moved onto each operation that does not set its own, where it applies. */
function securityPerOperation(document) {
  const out = copy(document);
  if (!out.security) return out;
  for (const item of Object.values(out.paths ?? {})) {
    for (const method of METHODS) if (item?.[method] && !item[method].security) item[method].security = out.security;
  }
  delete out.security;
  return out;
}

function pointerOf(segments) {
  return '/' + segments.map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

/** The operation a change is in, as `METHOD /path`, when it is in one. */
function operationOf(segments) {
  return segments[0] === 'paths' && METHODS.includes(segments[2]) ? `${String(segments[2]).toUpperCase()} ${segments[1]}` : undefined;
}

function isOpen(requirements) {
  return !requirements || requirements.length === 0 || requirements.some((r) => Object.keys(r).length === 0);
}

/**
 * Operations that took no credentials and now want some. api-smart-diff calls a security
 * requirement added to an operation non-breaking when the document had none before, so
 * this one is told apart here, on what applies to each operation.
 */
function newlySecured(released, current) {
  const changes = [];
  for (const [p, item] of Object.entries(current.paths ?? {})) {
    for (const method of METHODS) {
      const [before, after] = [released.paths?.[p]?.[method], item?.[method]];
      if (!before || !after) continue;
      if (!isOpen(before.security ?? released.security) || isOpen(after.security ?? current.security)) continue;
      const operation = `${method.toUpperCase()} ${p}`;
      changes.push({
        operation,
        pointer: pointerOf(['paths', p, method, 'security']),
        description: `[Added] a security requirement to ${operation}, which took none`,
      });
    }
  }
  return changes;
}

/**
 * The changes from the released document to the current one: the breaking ones, the ones
 * api-smart-diff could not classify (a $ref replaced by an inline schema, for one), and
 * how many of each kind.
 */
function classifyChanges(released, current) {
  const prepare = (doc) => nullableSpelledOneWay(securityPerOperation(doc));
  const { diffs } = apiCompare(prepare(released), prepare(current));
  const counts = { breaking: 0, 'non-breaking': 0, annotation: 0, unclassified: 0, deprecated: 0 };
  const [breaking, unclassified] = [[], []];
  for (const d of diffs) {
    if (d.path[0] === 'components' && REFERENCED_COMPONENTS.has(String(d.path[1]))) continue;
    counts[d.type] = (counts[d.type] ?? 0) + 1;
    if (d.type !== 'breaking' && d.type !== 'unclassified') continue;
    const pointer = pointerOf(d.path);
    (d.type === 'breaking' ? breaking : unclassified).push({
      operation: operationOf(d.path),
      pointer,
      description: d.description || `[${d.action}] ${pointer}`,
    });
  }
  for (const change of newlySecured(released, current)) {
    if (breaking.some((c) => c.pointer.startsWith(change.pointer))) continue;
    breaking.push(change);
    counts.breaking++;
  }
  return { breaking, unclassified, counts };
}

/** The body of the changelog's section with this heading (`## <title>`, level 2), or undefined. */
function changelogSection(markdown, title) {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^##\\s+v?${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`, 'i').test(l.trim()));
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && /^##\s/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** What the list items of a section announce: operations (`METHOD /path`) and JSON pointers. */
function announcements(section) {
  const operations = new Set();
  const pointers = [];
  const items = [];
  let inItem = false;
  for (const line of section.split('\n')) {
    if (/^\s*[-*+]\s/.test(line)) items.push(line);
    else if (inItem && line.trim() && !/^\s*#/.test(line)) items[items.length - 1] += ` ${line}`;
    // An item runs on over its wrapped lines, to a blank line or a heading.
    inItem = /^\s*[-*+]\s/.test(line) || (inItem && line.trim() !== '' && !/^\s*#/.test(line));
  }
  for (const item of items) {
    for (const [, span] of item.matchAll(/`([^`]+)`/g)) {
      const text = span.trim();
      const op = /^([a-z]+)\s+(\/\S*)$/i.exec(text);
      if (op && METHODS.includes(op[1].toLowerCase())) operations.add(`${op[1].toUpperCase()} ${op[2]}`);
      else if (/^#?\//.test(text)) pointers.push(text.replace(/^#/, '').split('/').slice(1));
    }
  }
  return { operations, pointers };
}

function covers(pointer, change) {
  const segments = change.pointer.split('/').slice(1);
  return pointer.length <= segments.length && pointer.every((s, i) => s === '*' || s === segments[i]);
}

/**
 * The gate: every breaking change from the released document to the current one is
 * announced in the changelog's Unreleased section, and the release has its section.
 * Answers whether it passes, what is not announced, and a report to print.
 */
function gate({ released, current, changelog, version }) {
  const { breaking, unclassified, counts } = classifyChanges(released, current);
  const problems = [];
  if (changelogSection(changelog, version) === undefined)
    problems.push(`docs/api-changes.md has no section for the released ${version} (a "## ${version}" heading).`);
  const unreleased = changelogSection(changelog, 'Unreleased');
  const announced = announcements(unreleased ?? '');
  const unannounced = breaking.filter((c) => !(c.operation && announced.operations.has(c.operation)) && !announced.pointers.some((p) => covers(p, c)));
  const summary = `${counts.breaking} breaking, ${counts['non-breaking']} non-breaking, ${counts.annotation} annotation, ${counts.unclassified} unclassified change(s) since ${version}`;
  if (unannounced.length) {
    const groups = new Map();
    for (const c of unannounced) {
      const key = c.operation ?? c.pointer;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    const lines = [`${unannounced.length} breaking change(s) since ${version} are not announced in docs/api-changes.md:`];
    for (const [key, changes] of groups) {
      lines.push(`  ${key}`);
      for (const c of changes) lines.push(`    - ${c.description}  (${c.pointer})`);
    }
    lines.push(
      `Announce them in the "## Unreleased" section of docs/api-changes.md${unreleased === undefined ? ' (it has none yet: add it above the releases)' : ''}:`,
      'a list item per change, naming the operation as `METHOD /path` or a JSON pointer in backticks, then what changed and what a client does now:',
      ...[...groups.keys()].map((key) => `- \`${key}\`: <what changed, and what a client does now>`),
    );
    problems.push(lines.join('\n'));
  }
  const report = [problems.length ? problems.join('\n') : `${summary}${counts.breaking ? ': each announced' : ''}`];
  if (unclassified.length) {
    // Not a failure: the diff could not tell. A reviewer can, and announces what breaks a client.
    report.push(`${unclassified.length} change(s) api-smart-diff could not classify; review them and announce any that breaks a client:`);
    for (const c of unclassified.slice(0, 20)) report.push(`  ${c.operation ?? c.pointer}: ${c.description}  (${c.pointer})`);
    if (unclassified.length > 20) report.push(`  … and ${unclassified.length - 20} more`);
  }
  return { ok: problems.length === 0, breaking, unannounced, unclassified, counts, report: report.join('\n') };
}

module.exports = { validateDocument, compareVersions, newestRelease, classifyChanges, changelogSection, announcements, gate };
