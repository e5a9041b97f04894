import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { AppModule } from './app.module';
import { AuthService } from './auth/auth.service';
import { ExecSocketServer } from './containers/exec-socket.server';
import { createLogger, PinoNestLogger } from './common/logger';
import { createValidationPipe } from './common/validation';
import { loadApiConfig } from './config';
import { buildOpenApiDocument } from './openapi';

async function bootstrap(): Promise<void> {
  const config = loadApiConfig();
  const logger = createLogger(config.logLevel, 'berth-api');
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ config, background: true }), {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
  });
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: '1mb' });
  app.use((req: Request, res: Response, next: NextFunction) => {
    const id = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : randomUUID();
    req.headers['x-request-id'] = id;
    res.setHeader('X-Request-Id', id);
    next();
  });
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();

  const document = buildOpenApiDocument(app);
  app
    .getHttpAdapter()
    .getInstance()
    .get('/openapi.json', (_req: Request, res: Response) => res.json(document));
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: '/docs/openapi.json' });

  app.get(ExecSocketServer).attach(app.getHttpServer());
  const { generatedToken } = await app.get(AuthService).bootstrap();
  await app.listen(config.port, config.host);
  logger.info({ url: config.publicUrl }, 'Berth API listening');
  if (generatedToken) {
    // Printed once: only its hash is stored.
    process.stdout.write(`\nAdmin API token (shown once, store it now):\n  ${generatedToken}\n\n`);
  }
}

bootstrap().catch((err) => {
  process.stderr.write(`berth-api failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
