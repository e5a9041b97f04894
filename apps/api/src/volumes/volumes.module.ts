import { Module } from '@nestjs/common';
import { HostsModule } from '../hosts/hosts.module';
import { OperationsModule } from '../operations/operations.module';
import { RpcModule } from '../rpc/rpc.module';
import { VolumeRemovals } from './volume-removals.service';
import { VolumesController } from './volumes.controller';
import { VolumesRepository } from './volumes.repository';
import { VolumesService } from './volumes.service';

@Module({
  imports: [HostsModule, OperationsModule, RpcModule],
  controllers: [VolumesController],
  providers: [VolumesRepository, VolumesService, VolumeRemovals],
  exports: [VolumesService],
})
export class VolumesModule {}
