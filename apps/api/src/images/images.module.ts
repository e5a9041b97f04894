import { Module } from '@nestjs/common';
import { HostsModule } from '../hosts/hosts.module';
import { OperationsModule } from '../operations/operations.module';
import { RegistriesModule } from '../registries/registries.module';
import { RpcModule } from '../rpc/rpc.module';
import { ImagesController, UploadsController } from './images.controller';
import { ImagesService } from './images.service';
import { UploadStore } from './upload-store';

@Module({
  imports: [HostsModule, OperationsModule, RegistriesModule, RpcModule],
  controllers: [ImagesController, UploadsController],
  providers: [ImagesService, UploadStore],
  exports: [ImagesService, UploadStore],
})
export class ImagesModule {}
