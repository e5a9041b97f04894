'use strict';
/**
 * Checks of the checked-in OpenAPI document, run by scripts/check-openapi.mjs:
 *
 * - validity: @apidevtools/swagger-parser dereferences the document and validates it
 *   against the OpenAPI schema; the operationIds, which clients name their functions
 *   after, are each present and unique (the parser checks those for Swagger 2 only).
 */
const SwaggerParser = require('@apidevtools/swagger-parser');

/** A deep copy of a JSON document. */
const copy = (document) => JSON.parse(JSON.stringify(document));

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

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

module.exports = { validateDocument };
