import { applyDecorators, HttpCode, Type } from '@nestjs/common';
import { ApiExtraModels, ApiOperation, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { HeaderObject, ReferenceObject, SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ProblemDto } from './problem';

/**
 * A success body that is not one JSON document of `type`: a stream, a tar, text.
 * Media type → a schema, or a class whose schema it refers to (for ndjson: the schema of each line).
 */
export type EndpointContent = Record<string, { schema: SchemaObject & Record<`x-${string}`, unknown> } | { type: Type<unknown>; description?: string }>;

function mediaTypes(content: EndpointContent): { models: Type<unknown>[]; content: Record<string, { schema: SchemaObject | ReferenceObject }> } {
  const models: Type<unknown>[] = [];
  const out: Record<string, { schema: SchemaObject | ReferenceObject }> = {};
  for (const [mediaType, body] of Object.entries(content)) {
    if ('schema' in body) {
      out[mediaType] = { schema: body.schema };
      continue;
    }
    models.push(body.type);
    out[mediaType] = { schema: { $ref: getSchemaPath(body.type), ...(body.description ? { description: body.description } : {}) } as ReferenceObject };
  }
  return { models, content: out };
}

export interface EndpointOptions {
  operationId: string;
  summary: string;
  description?: string;
  /** The success status and body type (JSON). */
  status?: number;
  type?: Type<unknown> | [Type<unknown>];
  /** Other success statuses with the same body (`saveRegistry`: 201 when new, 200 when replaced), and what each means. */
  also?: Record<number, string>;
  /** The success body's media types, when it is not JSON of `type` (streams, text, tars). */
  content?: EndpointContent;
  /** Headers of the success response, besides `X-Request-Id` (all) and `Location` (202). */
  headers?: Record<string, HeaderObject>;
  /** Error statuses this endpoint can answer, besides 401 (authenticated endpoints) and 500 that all have. */
  errors?: number[];
  /** No bearer token needed (`security: []` in the contract, no 401). Pair it with `@Public()`. */
  public?: boolean;
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not valid; `errors` names the fields',
  401: 'Missing or unknown bearer token',
  403: 'The team may not do this',
  404: 'No such resource in the caller’s team',
  409: 'The resource is in a state that does not allow this',
  413: 'The body is too large',
  415: 'The body’s media type is not one this endpoint takes',
  503: 'A dependency (a host, Redis) is unavailable; try again after `Retry-After` seconds',
  500: 'An internal error',
};

/** Response headers shared by many responses, under components.headers (see openapi.ts). */
export const SHARED_HEADERS = {
  'X-Request-Id': { $ref: '#/components/headers/RequestId' },
  Location: { $ref: '#/components/headers/OperationLocation' },
  'Retry-After': { $ref: '#/components/headers/RetryAfter' },
} as const;

/**
 * One decorator for a route's contract: operationId, summary, the success response
 * (JSON of `type`, or `content` for streams), and every error as
 * application/problem+json with the shared Problem schema.
 */
export function Endpoint(options: EndpointOptions): MethodDecorator {
  const status = options.status ?? 200;
  const standard = options.public ? [500] : [401, 500];
  const errors = [...new Set([...(options.errors ?? []), ...standard])].sort();
  const successHeaders: Record<string, HeaderObject | ReferenceObject> = { 'X-Request-Id': SHARED_HEADERS['X-Request-Id'], ...(options.headers ?? {}) };
  if (status === 202) successHeaders.Location = SHARED_HEADERS.Location;
  const custom = options.content ? mediaTypes(options.content) : undefined;
  const successResponse = (code: number, description: string) =>
    custom
      ? ApiResponse({ status: code, description, content: custom.content, headers: successHeaders })
      : options.type
        ? ApiResponse({ status: code, description, type: options.type, headers: successHeaders })
        : ApiResponse({ status: code, description, headers: successHeaders });
  const successes = [successResponse(status, 'Success'), ...Object.entries(options.also ?? {}).map(([code, why]) => successResponse(Number(code), why))];
  return applyDecorators(
    HttpCode(status),
    ApiExtraModels(ProblemDto, ...(custom?.models ?? [])),
    ApiOperation({
      operationId: options.operationId,
      summary: options.summary,
      description: options.description,
      ...(options.public ? { security: [] } : {}),
    }),
    ...successes,
    ...errors.map((code) =>
      ApiResponse({
        status: code,
        description: ERROR_DESCRIPTIONS[code] ?? 'Error',
        headers:
          code === 503
            ? { 'X-Request-Id': SHARED_HEADERS['X-Request-Id'], 'Retry-After': SHARED_HEADERS['Retry-After'] }
            : { 'X-Request-Id': SHARED_HEADERS['X-Request-Id'] },
        content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDto) } } },
      }),
    ),
  );
}
