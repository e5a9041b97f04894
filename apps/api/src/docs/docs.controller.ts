import { Controller, Get } from '@nestjs/common';
import { ApiTags, OpenAPIObject } from '@nestjs/swagger';
import { Public } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { ApiDocumentService } from './api-document.service';

@ApiTags('meta')
@Controller()
export class DocsController {
  constructor(private readonly document: ApiDocumentService) {}

  @Public()
  @Get('openapi.json')
  @Endpoint({
    operationId: 'getOpenApiDocument',
    summary: 'This API’s OpenAPI 3.1 document',
    description: 'The document checked in at openapi/openapi.json, with `servers` naming this API. `/docs` renders it.',
    content: { 'application/json': { schema: { type: 'object', additionalProperties: true, description: 'An OpenAPI 3.1 document' } } },
    errors: [503],
    public: true,
  })
  get(): OpenAPIObject {
    return this.document.get();
  }
}
