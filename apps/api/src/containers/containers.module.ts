import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { EventsModule } from '../events/events.module';
import { HostsModule } from '../hosts/hosts.module';
import { NetworksModule } from '../networks/networks.module';
import { OperationsModule } from '../operations/operations.module';
import { RegistriesModule } from '../registries/registries.module';
import { RpcModule } from '../rpc/rpc.module';
import { VolumesModule } from '../volumes/volumes.module';
import { ContainerNetworksController } from './container-networks.controller';
import { ContainersController } from './containers.controller';
import { ContainersService } from './containers.service';
import { ExecSocketServer } from './exec-socket.server';

@Module({
  imports: [AuthModule, HostsModule, OperationsModule, EventsModule, RpcModule, RegistriesModule, VolumesModule, NetworksModule],
  controllers: [ContainersController, ContainerNetworksController],
  providers: [ContainersService, ExecSocketServer],
  exports: [ContainersService, ExecSocketServer],
})
export class ContainersModule {}
