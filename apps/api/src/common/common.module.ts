import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { API_CONFIG, ApiConfig } from '../config';
import { ProblemFilter } from './problem.filter';
import { RedisConnections } from './redis';

/** What every feature may use and none owns: the configuration, the Redis connections, the one error filter. */
@Global()
@Module({})
export class CommonModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: CommonModule,
      providers: [{ provide: API_CONFIG, useValue: config }, RedisConnections, { provide: APP_FILTER, useClass: ProblemFilter }],
      exports: [API_CONFIG, RedisConnections],
    };
  }
}
