/**
 * Berth's own contract rules, on top of Redocly's `recommended` (see redocly.yaml):
 * what a generated SDK and its users rely on and the generic rules do not check.
 */

const PROBLEM_REF = '#/components/schemas/Problem';
const VERBS =
  /^(get|list|create|update|delete|start|stop|restart|kill|pause|unpause|rename|exec|wait|stream|load|pull|push|tag|export|prune|connect|disconnect|save|set)[A-Z]/;

/** Every error (4xx, 5xx) is application/problem+json with the shared Problem schema, and nothing else. */
function ProblemErrors() {
  return {
    Operation: {
      enter(operation, ctx) {
        for (const [code, response] of Object.entries(operation.responses ?? {})) {
          if (!/^[45]/.test(code)) continue;
          const where = ctx.location.child(['responses', code]);
          const types = Object.keys(response.content ?? {});
          if (types.length !== 1 || types[0] !== 'application/problem+json') {
            ctx.report({ message: `The ${code} response must be application/problem+json only (it has ${types.join(', ') || 'no body'}).`, location: where });
          } else if (response.content['application/problem+json'].schema?.$ref !== PROBLEM_REF) {
            ctx.report({ message: `The ${code} response's schema must be ${PROBLEM_REF}.`, location: where.child(['content', 'application/problem+json']) });
          }
        }
      },
    },
  };
}

/**
 * Every operation: a verb-first operationId, exactly one tag, a summary; one
 * that needs a token documents 401, one that takes a body or a query documents
 * 400; a 202 points at its operation (`Location`).
 */
function OperationShape() {
  return {
    Root: {
      enter(root, ctx) {
        const globalSecurity = root.security ?? [];
        for (const [path, item] of Object.entries(root.paths ?? {})) {
          for (const [method, operation] of Object.entries(item)) {
            if (!['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(method)) continue;
            const where = ctx.location.child(['paths', path, method]);
            const name = `${method.toUpperCase()} ${path}`;
            if (!VERBS.test(operation.operationId ?? '')) {
              ctx.report({ message: `${name}: the operationId must be lowerCamelCase and start with a verb (got ${operation.operationId}).`, location: where });
            }
            if ((operation.tags ?? []).length !== 1) ctx.report({ message: `${name}: an operation has exactly one tag.`, location: where });
            if (!operation.summary) ctx.report({ message: `${name}: an operation has a summary.`, location: where });
            const security = operation.security ?? globalSecurity;
            if (security.length > 0 && !operation.responses?.['401']) {
              ctx.report({ message: `${name}: it needs a token, so it documents 401.`, location: where.child('responses') });
            }
            const takesInput = operation.requestBody || (operation.parameters ?? []).some((p) => p.in === 'query' || p.in === 'header');
            if (takesInput && !operation.responses?.['400']) {
              ctx.report({ message: `${name}: it takes a body or query parameters, so it documents 400.`, location: where.child('responses') });
            }
            const accepted = operation.responses?.['202'];
            if (accepted && !accepted.headers?.Location) {
              ctx.report({ message: `${name}: a 202 response has a Location header naming its operation.`, location: where.child(['responses', '202']) });
            }
          }
        }
      },
    },
  };
}

/** Schemas are named for what they are: PascalCase, no `Dto` (or other code-side) suffix. */
function SchemaNames() {
  return {
    Root: {
      enter(root, ctx) {
        for (const name of Object.keys(root.components?.schemas ?? {})) {
          if (!/^[A-Z][A-Za-z0-9]*$/.test(name) || /(Dto|Entity|Model)$/.test(name)) {
            ctx.report({ message: `Schema "${name}" must be PascalCase and named for what it is (no Dto, Entity or Model suffix).`, location: ctx.location.child(['components', 'schemas', name]).key() });
          }
        }
      },
    },
  };
}

/**
 * A schema says what it holds: an object has properties, additionalProperties or
 * a composition. (An untyped `object` is what a decorator writes for a nullable
 * field it could not type, and a generated SDK then types a number as an object.)
 */
function NoOpaqueObjects() {
  return {
    Schema: {
      enter(schema, ctx) {
        const types = Array.isArray(schema.type) ? schema.type : [schema.type];
        if (!types.includes('object')) return;
        const described = ['properties', 'additionalProperties', 'patternProperties', 'allOf', 'oneOf', 'anyOf', '$ref'].some((k) => k in schema);
        if (!described) ctx.report({ message: 'An object schema must list its properties or additionalProperties.', location: ctx.location });
      },
    },
  };
}

export default function berthPlugin() {
  return {
    id: 'berth',
    rules: {
      oas3: {
        'problem-errors': ProblemErrors,
        'operation-shape': OperationShape,
        'schema-names': SchemaNames,
        'no-opaque-objects': NoOpaqueObjects,
      },
    },
  };
}
