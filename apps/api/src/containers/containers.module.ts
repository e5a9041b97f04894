import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { HostsModule } from '../hosts/hosts.module';
import { ImagesModule } from '../images/images.module';
import { NetworksModule } from '../networks/networks.module';
import { OperationsModule } from '../operations/operations.module';
import { RegistriesModule } from '../registries/registries.module';
import { RpcModule } from '../rpc/rpc.module';
import { TeamsModule } from '../teams/teams.module';
import { VolumesModule } from '../volumes/volumes.module';
import { ContainerAttachments } from './container-attachments';
import { ContainerJobs } from './container-jobs';
import { ContainerNetworksController } from './container-networks.controller';
import { ContainerPlacement } from './container-placement';
import { ContainersCreateService } from './containers-create.service';
import { ContainersLifecycleService } from './containers-lifecycle.service';
import { ContainersObservationService } from './containers-observation.service';
import { ContainersController } from './containers.controller';
import { ContainersRepository } from './containers.repository';
import { ContainersService } from './containers.service';
import { ExecSocketServer } from './exec-socket.server';

@Module({
  imports: [TeamsModule, HostsModule, OperationsModule, EventsModule, RpcModule, RegistriesModule, VolumesModule, NetworksModule, ImagesModule],
  controllers: [ContainersController, ContainerNetworksController],
  providers: [
    ContainersRepository,
    ContainersService,
    ContainersCreateService,
    ContainersLifecycleService,
    ContainersObservationService,
    ContainerPlacement,
    ContainerAttachments,
    ContainerJobs,
    ExecSocketServer,
  ],
  exports: [ContainersService, ExecSocketServer],
})
export class ContainersModule {}
