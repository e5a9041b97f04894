import { Module } from '@nestjs/common';
import { NetworksModule } from '../networks/networks.module';
import { OperationsModule } from '../operations/operations.module';
import { Dispatcher } from './dispatcher';

@Module({
  imports: [OperationsModule, NetworksModule],
  controllers: [],
  providers: [Dispatcher],
  exports: [],
})
export class DispatcherModule {}
