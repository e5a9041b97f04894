import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

const TAGS: [string, string][] = [
  ['containers', 'Containers: create, run, change, observe (logs, stats, exec) and remove'],
  ['images', 'Images on the team’s hosts: pull, load, push, tag, export and remove'],
  ['registries', 'Credentials for private registries, sealed for each host'],
  ['networks', 'Bridge networks, spanning hosts over VXLAN where they must'],
  ['volumes', 'Named volumes on a host'],
  ['hosts', 'The machines that run containers, each with a worker'],
  ['operations', 'The record of each change carried out on a host; long-poll with waitOperation'],
  ['events', 'A live feed of what happens to the team’s resources'],
  ['teams', 'Teams and their policies (admin)'],
  ['health', 'Liveness and readiness probes'],
  ['meta', 'The API’s own description'],
];

/**
 * The OpenAPI 3.1 document of the API, with keys sorted so it diffs cleanly.
 * `serverUrl` fills `servers` (BERTH_PUBLIC_URL of the running API).
 */
export function buildOpenApiDocument(app: INestApplication, serverUrl: string): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('Berth API')
    .setDescription(
      'A control plane for Linux containers across many hosts and teams. Changes answer 202 with an Operation; ' +
        '`GET /v1/operations/{id}/wait` long-polls it. Errors are application/problem+json (RFC 9457).',
    )
    .setVersion(packageVersion())
    .setLicense('Apache-2.0', 'https://www.apache.org/licenses/LICENSE-2.0')
    .setContact('Berth', 'https://berth.dev', 'api@berth.dev')
    .addServer(serverUrl, 'This Berth API (BERTH_PUBLIC_URL)')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API token (`berth_…`), sent as `Authorization: Bearer <token>`' }, 'bearer')
    .addSecurityRequirements('bearer');
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build(), {
    operationIdFactory: (_controller, method) => method,
  });
  document.components = { ...document.components, headers: SHARED_HEADER_OBJECTS };
  return sortKeys(tidy(document)) as OpenAPIObject;
}

const SHARED_HEADER_OBJECTS = {
  RequestId: { description: 'The id of this request, also in the API’s logs (sent back when the request carried one)', schema: { type: 'string' } },
  OperationLocation: { description: 'Where the operation carrying the change out can be read: `/v1/operations/{id}`', schema: { type: 'string' } },
  RetryAfter: { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
};

/** The version of the package, which is the version of the contract. */
function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'berth' && pkg.version) return pkg.version;
  }
  throw new Error('the berth package.json was not found above the API');
}

/**
 * What the decorators write that 3.1 says more plainly: an `allOf` of one schema
 * (how a property refers to an enum or an object) becomes the `$ref` itself, its
 * description beside it, which 3.1 allows.
 */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (!value || typeof value !== 'object') return value;
  const node = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, tidy(v)]));
  if (Array.isArray(node.allOf) && node.allOf.length === 1) {
    const [only] = node.allOf as Record<string, unknown>[];
    delete node.allOf;
    if (node.type === 'object' && !('properties' in node)) delete node.type;
    return { ...only, ...node };
  }
  return node;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
