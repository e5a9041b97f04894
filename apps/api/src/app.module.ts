import { DynamicModule, Module } from '@nestjs/common';
import { CommonModule } from './common/common.module';
import { ApiConfig } from './config';
import { ContainersModule } from './containers/containers.module';
import { DatabaseModule } from './database/database.module';
import { DispatcherModule } from './dispatcher/dispatcher.module';
import { DocsModule } from './docs/docs.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { HostsModule } from './hosts/hosts.module';
import { ImagesModule } from './images/images.module';
import { NetworksModule } from './networks/networks.module';
import { OperationsModule } from './operations/operations.module';
import { RegistriesModule } from './registries/registries.module';
import { ReportsModule } from './reports/reports.module';
import { TeamsModule } from './teams/teams.module';
import { VolumesModule } from './volumes/volumes.module';

export interface AppModuleOptions {
  config: ApiConfig;
  /** Background work (reports consumer, dispatcher, migrations on start); off when only the OpenAPI document is wanted. */
  background: boolean;
}

/** The API: the shared pieces and one module per feature, nothing else. */
@Module({})
export class AppModule {
  static forRoot({ config, background }: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CommonModule.forRoot(config),
        DatabaseModule.forRoot({ databaseUrl: config.databaseUrl, sqlitePath: config.sqlitePath, migrationsRun: background }),
        HealthModule,
        DocsModule,
        TeamsModule,
        HostsModule,
        ContainersModule,
        ImagesModule,
        OperationsModule,
        EventsModule,
        RegistriesModule,
        VolumesModule,
        NetworksModule,
        ...(background ? [ReportsModule, DispatcherModule] : []),
      ],
    };
  }
}
