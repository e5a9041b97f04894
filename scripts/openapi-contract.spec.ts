import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateDocument } from './lib/openapi-contract.cjs';

type Doc = Record<string, any>;

const DOCUMENT: Doc = JSON.parse(readFileSync(join(__dirname, '..', 'openapi', 'openapi.json'), 'utf8'));
const doc = (): Doc => structuredClone(DOCUMENT);

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
