import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { announcements, compareVersions, gate, newestRelease, validateDocument } from './lib/openapi-contract.cjs';

type Doc = Record<string, any>;

const DOCUMENT: Doc = JSON.parse(readFileSync(join(__dirname, '..', 'openapi', 'openapi.json'), 'utf8'));
const doc = (): Doc => structuredClone(DOCUMENT);

/** The schema an operation's JSON request body takes, found through the operation (schema names change). */
function requestSchema(d: Doc, path: string, method: string): Doc {
  const schema = d.paths[path][method].requestBody.content['application/json'].schema;
  return schema.$ref ? d.components.schemas[schema.$ref.split('/').pop()] : schema;
}

const CHANGELOG = (unreleased: string) => `# API changes\n\n## Unreleased\n\n${unreleased}\n\n## 0.1.0\n\n- \`GET /v1/containers\` came first.\n`;
const run = (current: Doc, unreleased = 'Nothing yet.', released = doc()) => gate({ released, current, changelog: CHANGELOG(unreleased), version: '0.1.0' });

describe('the OpenAPI document check', () => {
  it('passes the checked-in document', async () => {
    expect(await validateDocument(doc())).toEqual([]);
  });

  it('fails a broken document and says where: a response without description, a parameter without `in`, a dangling $ref', async () => {
    const broken = doc();
    delete broken.paths['/v1/containers'].post.responses['202'].description;
    broken.paths['/v1/containers'].get.parameters.push({ name: 'x', schema: { type: 'string' } });
    const problems = await validateDocument(broken);
    expect(problems).toContain("#/paths/~1v1~1containers/post/responses/202 must have required property 'description'");
    expect(problems).toContain("#/paths/~1v1~1containers/get/parameters/4 must have required property 'in'");

    const dangling = doc();
    dangling.paths['/v1/containers'].get.responses['200'].content['application/json'].schema = { $ref: '#/components/schemas/Nowhere' };
    expect((await validateDocument(dangling)).join('\n')).toMatch(/Missing \$ref pointer "#\/components\/schemas\/Nowhere"/);
    // The caller's document is left as it was (the parser dereferences a copy).
    expect(dangling.paths['/v1/containers'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Nowhere' });
  });

  it('fails an operation without an operationId, or with one another operation has', async () => {
    const d = doc();
    delete d.paths['/v1/containers'].get.operationId;
    d.paths['/v1/containers/{id}'].delete.operationId = 'createContainer';
    expect(await validateDocument(d)).toEqual([
      'GET /v1/containers has no operationId',
      'DELETE /v1/containers/{id} has the operationId createContainer of POST /v1/containers too',
    ]);
  });
});

describe('the breaking-change gate', () => {
  it('passes non-breaking changes: a new operation, a new optional request field, a new summary', () => {
    const d = doc();
    d.paths['/v1/widgets'] = { get: { operationId: 'listWidgets', responses: { '200': { description: 'Success' } } } };
    requestSchema(d, '/v1/containers', 'post').properties.comment = { type: 'string' };
    d.paths['/v1/containers'].get.summary = 'Another summary';
    const result = run(d);
    expect(result).toMatchObject({ ok: true, breaking: [], unannounced: [] });
    expect(result.counts['non-breaking']).toBeGreaterThanOrEqual(2);
    expect(result.counts.annotation).toBeGreaterThanOrEqual(1);
  });

  it('fails a removed operation and a new required request field that Unreleased does not announce, naming each and how to announce it', () => {
    const d = doc();
    delete d.paths['/v1/containers/{id}'].delete;
    requestSchema(d, '/v1/containers', 'post').required.push('name');
    const result = run(d);
    expect(result.ok).toBe(false);
    expect(result.unannounced.map((c) => c.operation).sort()).toEqual(['DELETE /v1/containers/{id}', 'POST /v1/containers']);
    expect(result.unannounced.find((c) => c.operation === 'POST /v1/containers')!.pointer).toMatch(
      /^\/paths\/~1v1~1containers\/post\/requestBody\/content\/application~1json\/schema\/required\//,
    );
    expect(result.report).toContain('2 breaking change(s) since 0.1.0 are not announced in docs/api-changes.md');
    expect(result.report).toContain('[Removed] operation DELETE /v1/containers/{id}');
    expect(result.report).toContain('- `DELETE /v1/containers/{id}`: <what changed, and what a client does now>');
    expect(result.report).toContain('- `POST /v1/containers`: <what changed, and what a client does now>');
  });

  it('passes the same changes once Unreleased announces them, by operation or by pointer', () => {
    const d = doc();
    delete d.paths['/v1/containers/{id}'].delete;
    requestSchema(d, '/v1/containers', 'post').required.push('name');
    const byOperation = run(d, '- `delete /v1/containers/{id}` is gone: containers remove themselves.\n- `POST /v1/containers` requires a\n  `name` now.');
    expect(byOperation).toMatchObject({ ok: true, unannounced: [] });
    expect(byOperation.breaking).toHaveLength(2);
    expect(byOperation.report).toMatch(/^2 breaking, .* since 0\.1\.0: each announced$/);
    expect(run(d, '- `/paths/~1v1~1containers~1{id}/delete` and `/paths/*/post/requestBody`: see the guide.').ok).toBe(true);
    // Half announced is not announced.
    expect(run(d, '- `POST /v1/containers` requires a `name` now.').unannounced.map((c) => c.operation)).toEqual(['DELETE /v1/containers/{id}']);
  });

  it('lists what api-smart-diff cannot classify for review, without failing', () => {
    const d = doc();
    d.paths['/v1/containers/{id}/wait'].get.responses['200'].content['application/json'].schema = { type: 'object', properties: { met: { type: 'boolean' } } };
    const result = run(d);
    expect(result.ok).toBe(true);
    expect(result.unclassified.length).toBeGreaterThan(0);
    expect(result.unclassified.every((c) => c.operation === 'GET /v1/containers/{id}/wait')).toBe(true);
    expect(result.report).toContain(
      'change(s) api-smart-diff could not classify; review them and announce any that breaks a client:\n  GET /v1/containers/{id}/wait: ',
    );
  });

  it('counts announcements only in list items of the Unreleased section', () => {
    const d = doc();
    delete d.paths['/v1/containers/{id}'].delete;
    const elsewhere = gate({
      released: doc(),
      current: d,
      changelog: CHANGELOG('Nothing yet.').replace('came first.', 'came first.\n- `DELETE /v1/containers/{id}`'),
      version: '0.1.0',
    });
    expect(elsewhere.ok).toBe(false);
    expect(run(d, 'Prose about `DELETE /v1/containers/{id}` is no announcement.').ok).toBe(false);
    const noSection = gate({ released: doc(), current: d, changelog: '# API changes\n\n## 0.1.0\n\nFirst.\n', version: '0.1.0' });
    expect(noSection.report).toContain('(it has none yet: add it above the releases)');
  });

  it('wants a section for the released version', () => {
    const result = gate({ released: doc(), current: doc(), changelog: '## Unreleased\n\nNothing yet.\n', version: '0.1.0' });
    expect(result).toMatchObject({ ok: false, breaking: [] });
    expect(result.report).toContain('docs/api-changes.md has no section for the released 0.1.0');
  });

  it('takes renamed schemas, 3.1 nullability and the security moved to the document as no change', () => {
    // The same contract as a 3.0 document of old would say it: schemas named with Dto, `nullable`, security on each operation.
    const old = JSON.parse(JSON.stringify(doc()).replace(/"#\/components\/schemas\/(\w+)"/g, '"#/components/schemas/$1Dto"'));
    old.components.schemas = Object.fromEntries(Object.entries(old.components.schemas).map(([name, s]) => [`${name}Dto`, s]));
    old.openapi = '3.0.0';
    const spell30 = (n: any): void => {
      if (Array.isArray(n)) return n.forEach(spell30);
      if (!n || typeof n !== 'object') return;
      if (Array.isArray(n.type) && n.type.length === 2 && n.type.includes('null')) {
        n.type = n.type.find((t: string) => t !== 'null');
        n.nullable = true;
      }
      Object.values(n).forEach(spell30);
    };
    spell30(old);
    const bearer = old.security;
    delete old.security;
    for (const item of Object.values<Doc>(old.paths)) {
      for (const op of Object.values<Doc>(item)) {
        if (op.security?.length === 0) delete op.security;
        else op.security = bearer;
      }
    }
    expect(run(doc(), 'Nothing yet.', old)).toMatchObject({ ok: true, breaking: [] });

    // Credentials wanted where none were is breaking, written on the operation or for the whole document.
    const open = ['/healthz', '/openapi.json', '/readyz'];
    const secured = doc();
    for (const p of open) delete secured.paths[p].get.security;
    expect(run(secured).unannounced.map((c) => c.operation)).toEqual(open.map((p) => `GET ${p}`));
    const one = doc();
    one.paths['/healthz'].get.security = [{ bearer: [] }];
    expect(run(one).unannounced.map((c) => [c.operation, c.pointer.startsWith('/paths/~1healthz/get/security')])).toEqual([['GET /healthz', true]]);
  });

  it('reads pointers and operations from code spans', () => {
    expect(announcements('- `GET /v1/a` and `#/security`, `/paths/*/get`; `not this`\n\n`POST /v1/b` is prose')).toEqual({
      operations: new Set(['GET /v1/a']),
      pointers: [['security'], ['paths', '*', 'get']],
    });
  });
});

describe('the released documents', () => {
  it('are ordered by semver, a release after its pre-releases', () => {
    const sorted = ['0.10.0', '0.2.0', '1.0.0-rc.2', '1.0.0-rc.10', '1.0.0', '1.0.0-beta', '0.2.1'].sort(compareVersions);
    expect(sorted).toEqual(['0.2.0', '0.2.1', '0.10.0', '1.0.0-beta', '1.0.0-rc.2', '1.0.0-rc.10', '1.0.0']);
  });

  it('take the newest <semver>.json in the folder as the baseline, and refuse other names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-released-'));
    try {
      for (const name of ['0.2.0.json', '0.10.0.json', '0.11.0-rc.1.json', 'README.md']) writeFileSync(join(dir, name), '{}');
      expect(newestRelease(dir)).toEqual({ version: '0.11.0-rc.1', file: join(dir, '0.11.0-rc.1.json') });
      writeFileSync(join(dir, '0.11.0.json'), '{}');
      expect(newestRelease(dir).version).toBe('0.11.0');
      writeFileSync(join(dir, 'latest.json'), '{}');
      expect(() => newestRelease(dir)).toThrow(/latest\.json: a released document is named by its version/);
      rmSync(join(dir, 'latest.json'));
      expect(() => newestRelease(join(dir, 'none'))).toThrow(/holds no released document/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
