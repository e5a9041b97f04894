import { DynamicModule, ForwardReference, INestApplication, Provider, Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { UnauthenticatedError } from '@berth/domain';
import { AuthContext } from '../common/auth-context';
import { ProblemFilter } from '../common/problem.filter';
import { configureHttpApp } from '../http-app';
import { AuthGuard } from '../teams/auth.guard';
import { AuthService } from '../teams/auth.service';

/** Bearer tokens the harness knows: `Authorization: Bearer team` is an ordinary team, `Bearer admin` the admin team. */
export const TEAM_AUTH: AuthContext = { teamId: 'team_00000000000000000000000001', tokenId: 'tok_00000000000000000000000001', admin: false };
export const ADMIN_AUTH: AuthContext = { teamId: 'team_00000000000000000000000002', tokenId: 'tok_00000000000000000000000002', admin: true };

export interface ControllerHarnessOptions {
  controllers: Type<unknown>[];
  /** The services the controllers call, usually strict mocks: `{ provide: XService, useValue: mock }`. */
  providers?: Provider[];
  imports?: Array<Type<unknown> | DynamicModule | Promise<DynamicModule> | ForwardReference>;
}

/**
 * A controller under test on a real HTTP server, as the API serves it: the same
 * validation pipe, problem+json filter, request ids and the real auth guard (with a
 * token lookup that knows the two callers above). Drive it with supertest:
 * `request(app.getHttpServer()).get('/v1/…').set('Authorization', 'Bearer team')`.
 */
export async function createControllerHarness(options: ControllerHarnessOptions): Promise<INestApplication> {
  const auth = {
    authenticate: async (header: string | undefined) => {
      if (header === 'Bearer team') return TEAM_AUTH;
      if (header === 'Bearer admin') return ADMIN_AUTH;
      throw new UnauthenticatedError('the API token is not valid or was revoked', 'InvalidToken');
    },
  };
  const moduleRef = await Test.createTestingModule({
    imports: options.imports ?? [],
    controllers: options.controllers,
    providers: [
      ...(options.providers ?? []),
      { provide: AuthService, useValue: auth },
      { provide: APP_GUARD, useClass: AuthGuard },
      { provide: APP_FILTER, useClass: ProblemFilter },
    ],
  }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: false });
  configureHttpApp(app);
  await app.init();
  return app;
}
