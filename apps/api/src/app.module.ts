import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { dataSourceOptions, initializeDataSource } from '../../../migrations/data-source';
import { AuthGuard } from './auth/auth.guard';
import { AuthService } from './auth/auth.service';
import { ProblemFilter } from './common/problem.filter';
import { API_CONFIG, ApiConfig } from './config';
import { ContainersController } from './containers/containers.controller';
import { ContainersService } from './containers/containers.service';
import { ExecSocketServer } from './containers/exec-socket.server';
import { EventBus } from './events/event-bus';
import { EventsController } from './events/events.controller';
import { HealthController } from './health/health.controller';
import { HostsController } from './hosts/hosts.controller';
import { HostsService } from './hosts/hosts.service';
import { ImagesController, UploadsController } from './images/images.controller';
import { ImagesService } from './images/images.service';
import { UploadStore } from './images/upload-store';
import { OperationsController } from './operations/operations.controller';
import { OperationsService } from './operations/operations.service';
import { Dispatcher } from './queue/dispatcher';
import { JobProducer } from './queue/job-producer';
import { RedisConnections } from './queue/redis.provider';
import { RegistriesController } from './registries/registries.controller';
import { RegistriesService } from './registries/registries.service';
import { ReportsConsumer } from './reports/reports.consumer';
import { WorkerRpc } from './rpc/worker-rpc.service';
import { NetworksController } from './networks/networks.controller';
import { NetworksService } from './networks/networks.service';
import { TeamsController } from './teams/teams.controller';
import { VolumesController } from './volumes/volumes.controller';
import { VolumesService } from './volumes/volumes.service';

export interface AppModuleOptions {
  config: ApiConfig;
  /** Background work (reports consumer, dispatcher, host sweeps); off when only the OpenAPI document is wanted. */
  background: boolean;
}

@Module({})
export class AppModule {
  static forRoot({ config, background }: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSourceOptions({ url: config.databaseUrl, sqlitePath: config.sqlitePath }), migrationsRun: background }),
          dataSourceFactory: async (options) => initializeDataSource(options!),
        }),
      ],
      controllers: [
        HealthController,
        TeamsController,
        HostsController,
        ContainersController,
        ImagesController,
        UploadsController,
        OperationsController,
        EventsController,
        RegistriesController,
        VolumesController,
        NetworksController,
      ],
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        AuthService,
        RedisConnections,
        EventBus,
        JobProducer,
        HostsService,
        OperationsService,
        ContainersService,
        ImagesService,
        RegistriesService,
        VolumesService,
        NetworksService,
        UploadStore,
        WorkerRpc,
        ExecSocketServer,
        ...(background ? [ReportsConsumer, Dispatcher] : []),
      ],
    };
  }
}
