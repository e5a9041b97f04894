import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
const CHECKED_IN = JSON.parse(readFileSync(join(ROOT, 'openapi', 'openapi.json'), 'utf8'));

interface LintProblem {
  ruleId: string;
  message: string;
}

/** Redocly with the repository's redocly.yaml (recommended + Berth's rules) on a document; the problems it reports. */
function lint(document: object): LintProblem[] {
  const dir = mkdtempSync(join(tmpdir(), 'berth-lint-'));
  try {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
    const run = spawnSync(process.execPath, [CLI, 'lint', file, '--config', join(ROOT, 'redocly.yaml'), '--format=json'], { encoding: 'utf8' });
    return (JSON.parse(run.stdout) as { problems: LintProblem[] }).problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const berth = (problems: LintProblem[]) => problems.filter((p) => p.ruleId.startsWith('berth/'));

/** A small document that passes every rule; each test breaks one thing. */
function good() {
  return {
    openapi: '3.1.0',
    info: { title: 't', version: '1', license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' } },
    servers: [{ url: 'http://127.0.0.1:8080' }],
    security: [{ bearer: [] }],
    tags: [{ name: 'things', description: 'Things' }],
    paths: {
      '/v1/things/{id}': {
        get: {
          operationId: 'getThing',
          summary: 'Get a thing',
          tags: ['things'],
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
            '401': { description: 'no', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
            '404': { description: 'no', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
          },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Thing: { type: 'object', properties: { id: { type: 'string' }, size: { type: ['integer', 'null'] } }, required: ['id'] },
        Problem: { type: 'object', properties: { status: { type: 'integer' }, title: { type: 'string' } }, required: ['status', 'title'] },
      },
    },
  };
}

describe("redocly.yaml: Redocly's recommended rules and Berth's own", () => {
  it('find nothing in a document that keeps them', () => {
    expect(lint(good())).toEqual([]);
  });

  it('berth/problem-errors: an error must be application/problem+json with the Problem schema', () => {
    const d = good();
    const get = d.paths['/v1/things/{id}'].get;
    (get.responses as Record<string, unknown>)['404'] = {
      description: 'no',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
    (get.responses as Record<string, unknown>)['401'] = {
      description: 'no',
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Thing' } } },
    };
    const found = berth(lint(d));
    expect(found.map((p) => p.ruleId)).toEqual(['berth/problem-errors', 'berth/problem-errors']);
    expect(found.map((p) => p.message).join('\n')).toMatch(/404 response must be application\/problem\+json only/);
  });

  it('berth/operation-shape: a verb-first operationId, one tag, a summary, 401 when a token is needed, 400 when it takes input, Location on a 202', () => {
    const d = good();
    const get = d.paths['/v1/things/{id}'].get as Record<string, unknown> & { responses: Record<string, unknown> };
    get.operationId = 'thingGetter';
    get.tags = ['things', 'more'];
    delete get.summary;
    delete get.responses['401'];
    get.responses['202'] = { description: 'accepted' };
    (get.parameters as object[]).push({ name: 'verbose', in: 'query', schema: { type: 'boolean' } });
    const messages = berth(lint(d)).map((p) => p.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/operationId must be lowerCamelCase and start with a verb/),
        expect.stringMatching(/exactly one tag/),
        expect.stringMatching(/has a summary/),
        expect.stringMatching(/documents 401/),
        expect.stringMatching(/takes a body or query parameters, so it documents 400/),
        expect.stringMatching(/202 response has a Location header/),
      ]),
    );
  });

  it('berth/schema-names: no Dto suffix', () => {
    const d = JSON.parse(JSON.stringify(good()).replace(/#\/components\/schemas\/Thing"/g, '#/components/schemas/ThingDto"'));
    d.components.schemas.ThingDto = d.components.schemas.Thing;
    delete d.components.schemas.Thing;
    expect(berth(lint(d)).map((p) => p.message)).toEqual([expect.stringMatching(/Schema "ThingDto" must be PascalCase and named for what it is/)]);
  });

  it('berth/no-opaque-objects: an object schema lists what it holds', () => {
    const d = good();
    (d.components.schemas.Thing.properties as Record<string, unknown>).exitCode = { type: ['object', 'null'] };
    expect(berth(lint(d)).map((p) => p.ruleId)).toEqual(['berth/no-opaque-objects']);
  });

  it('find nothing in the checked-in document once its reviewed exceptions are set aside', () => {
    const ignored = new Set(['operation-4xx-response', 'no-unused-components']);
    expect(lint(CHECKED_IN).filter((p) => !ignored.has(p.ruleId))).toEqual([]);
  });
});
