import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { createLogger, PinoNestLogger } from './common/logger';
import { loadApiConfig } from './config';
import { ExecSocketServer } from './containers/exec-socket.server';
import { ApiDocumentService } from './docs/api-document.service';
import { configureHttpApp } from './http-app';
import { buildOpenApiDocument } from './openapi';
import { AuthService } from './teams/auth.service';

async function bootstrap(): Promise<void> {
  const config = loadApiConfig();
  const logger = createLogger(config.logLevel, 'berth-api');
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ config, background: true }), {
    logger: new PinoNestLogger(logger),
    bodyParser: false,
  });
  configureHttpApp(app);
  app.enableShutdownHooks();

  const document = buildOpenApiDocument(app, config.publicUrl);
  app.get(ApiDocumentService).set(document);
  // The reference UI (Swagger UI, served from this process: no outside assets), over the same document.
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: '/docs/openapi.json', customSiteTitle: 'Berth API' });

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
