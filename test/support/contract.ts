import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

const SCHEMA_BASE = 'https://contract.berth.test/schemas/';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface MediaType {
  schema?: Json;
}
interface Operation {
  operationId: string;
  responses: Record<string, { content?: Record<string, MediaType> }>;
}

/** `#/components/schemas/X` → an id Ajv knows X by; everything else as it is. */
function rewriteRefs(node: Json): Json {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', SCHEMA_BASE) : rewriteRefs(v)]),
  );
}

/**
 * The checked-in OpenAPI document as a judge of real answers: for an operation
 * (method and path template, as the SDK's request options name them), is the
 * status documented, is the media type one it lists, and does the body match
 * the schema (each line, for ndjson)?
 */
export class ContractValidator {
  readonly #document: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Json> } };
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true });
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(documentPath = join(__dirname, '..', '..', 'openapi', 'openapi.json')) {
    this.#document = JSON.parse(readFileSync(documentPath, 'utf8'));
    addFormats(this.#ajv);
    this.#ajv.addFormat('binary', true);
    // OpenAPI's own words beside JSON Schema's.
    for (const keyword of ['example', 'discriminator', 'x-berth-data']) this.#ajv.addKeyword(keyword);
    for (const [name, schema] of Object.entries(this.#document.components.schemas)) {
      this.#ajv.addSchema({ ...(rewriteRefs(schema) as object), $id: `${SCHEMA_BASE}${name}` });
    }
  }

  operation(method: string, pathTemplate: string): Operation | undefined {
    return this.#document.paths[pathTemplate]?.[method.toLowerCase()];
  }

  /** What is wrong with this answer, as readable lines; none when it is what the document says. */
  check(method: string, pathTemplate: string, status: number, contentType: string | null, body: { json?: unknown; lines?: unknown[] } | undefined): string[] {
    const name = `${method.toUpperCase()} ${pathTemplate}`;
    const operation = this.operation(method, pathTemplate);
    if (!operation) return [`${name} is not in the document`];
    const response = operation.responses[String(status)];
    if (!response)
      return [`${name} (${operation.operationId}) answered ${status}, which the document does not list (${Object.keys(operation.responses).join(', ')})`];
    const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
    const content = response.content ?? {};
    if (!Object.keys(content).length) return mediaType && status !== 204 && body?.json !== undefined ? [`${name} ${status} has no documented body`] : [];
    const documented = content[mediaType];
    if (!documented) return [`${name} ${status} answered ${mediaType || 'no media type'}, the document lists ${Object.keys(content).join(', ')}`];
    if (!body || !documented.schema) return [];
    const validate = this.#validator(`${pathTemplate} ${method} ${status} ${mediaType}`, documented.schema);
    const values = body.lines ?? [body.json];
    const problems: string[] = [];
    values.forEach((value, i) => {
      if (validate(value)) return;
      const where = body.lines ? ` line ${i + 1}` : '';
      for (const e of validate.errors ?? []) problems.push(`${name} ${status}${where}: ${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`);
    });
    return problems;
  }

  #validator(key: string, schema: Json): ValidateFunction {
    let validate = this.#compiled.get(key);
    if (!validate) {
      validate = this.#ajv.compile(rewriteRefs(schema) as object);
      this.#compiled.set(key, validate);
    }
    return validate;
  }
}
