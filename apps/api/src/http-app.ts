import { randomUUID } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { createValidationPipe } from './common/validation';

/** What every HTTP app of the API gets, in production and in controller specs alike: body limits, request ids, validation. */
export function configureHttpApp(app: NestExpressApplication): NestExpressApplication {
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: '1mb' });
  app.use((req: Request, res: Response, next: NextFunction) => {
    const id = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : randomUUID();
    req.headers['x-request-id'] = id;
    res.setHeader('X-Request-Id', id);
    next();
  });
  app.useGlobalPipes(createValidationPipe());
  return app;
}
