import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { dataSourceOptions, initializeDataSource } from '../../../../migrations/data-source';
import { Transactions } from './transactions';

export interface DatabaseOptions {
  databaseUrl?: string;
  sqlitePath: string;
  /** Apply pending migrations when the data source opens. */
  migrationsRun: boolean;
}

/** The data source (SQLite or PostgreSQL, schema only through migrations) and the unit of work. */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseOptions): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...dataSourceOptions({ url: options.databaseUrl, sqlitePath: options.sqlitePath }), migrationsRun: options.migrationsRun }),
          dataSourceFactory: async (dsOptions) => initializeDataSource(dsOptions!),
        }),
      ],
      providers: [Transactions],
      exports: [Transactions],
    };
  }
}
