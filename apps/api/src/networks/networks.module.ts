import { Module } from '@nestjs/common';
import { HostsModule } from '../hosts/hosts.module';
import { OperationsModule } from '../operations/operations.module';
import { NetworkSyncs } from './network-syncs.service';
import { NetworksController } from './networks.controller';
import { NetworksRepository } from './networks.repository';
import { NetworksService } from './networks.service';

@Module({
  imports: [HostsModule, OperationsModule],
  controllers: [NetworksController],
  providers: [NetworksRepository, NetworksService, NetworkSyncs],
  exports: [NetworksService],
})
export class NetworksModule {}
