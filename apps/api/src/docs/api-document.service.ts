import { Injectable } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import { UnavailableError } from '@berth/domain';

/** The OpenAPI document the running API serves, built once its routes are known (main.ts). */
@Injectable()
export class ApiDocumentService {
  #document?: OpenAPIObject;

  set(document: OpenAPIObject): void {
    this.#document = document;
  }

  get(): OpenAPIObject {
    if (!this.#document) throw new UnavailableError('the OpenAPI document is not built yet', 'DocumentNotReady');
    return this.#document;
  }
}
