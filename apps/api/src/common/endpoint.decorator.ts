import { applyDecorators, HttpCode, Type } from '@nestjs/common';
import { ApiOperation, ApiResponse } from '@nestjs/swagger';
import { ProblemDto } from './problem';

export interface EndpointOptions {
  operationId: string;
  summary: string;
  description?: string;
  /** The success status and body type. */
  status?: number;
  type?: Type<unknown> | [Type<unknown>];
  /** Error statuses this endpoint can answer, besides 401 and 500 that all have. */
  errors?: number[];
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not valid',
  401: 'Missing or unknown bearer token',
  403: 'The team may not do this',
  404: 'No such resource in the caller’s team',
  409: 'The resource is in a state that does not allow this',
  413: 'The body is too large',
  503: 'A dependency (host, Redis) is unavailable',
  500: 'An internal error',
};

/** One decorator for route metadata: operationId, summary, success and error responses. */
export function Endpoint(options: EndpointOptions): MethodDecorator {
  const status = options.status ?? 200;
  const errors = [...new Set([...(options.errors ?? []), 401, 500])].sort();
  return applyDecorators(
    HttpCode(status),
    ApiOperation({ operationId: options.operationId, summary: options.summary, description: options.description }),
    ApiResponse({ status, type: options.type, description: 'Success' }),
    ...errors.map((code) =>
      ApiResponse({
        status: code,
        description: ERROR_DESCRIPTIONS[code] ?? 'Error',
        type: ProblemDto,
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDto' } } },
      }),
    ),
  );
}
