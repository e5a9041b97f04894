import { Module } from '@nestjs/common';
import { ApiDocumentService } from './api-document.service';
import { DocsController } from './docs.controller';

/** The contract, served: GET /openapi.json (the UI at /docs is mounted in main.ts). */
@Module({
  controllers: [DocsController],
  providers: [ApiDocumentService],
  exports: [ApiDocumentService],
})
export class DocsModule {}
