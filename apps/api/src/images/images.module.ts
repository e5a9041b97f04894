import { Module } from '@nestjs/common';
import { HostsModule } from '../hosts/hosts.module';
import { OperationsModule } from '../operations/operations.module';
import { RegistriesModule } from '../registries/registries.module';
import { RpcModule } from '../rpc/rpc.module';
import { ImageJobs } from './image-jobs';
import { ImagesRemovalService } from './images-removal.service';
import { ImagesTransferService } from './images-transfer.service';
import { ImagesController, UploadsController } from './images.controller';
import { ImagesRepository } from './images.repository';
import { ImagesService } from './images.service';
import { UploadStore } from './upload-store.service';

@Module({
  imports: [HostsModule, OperationsModule, RegistriesModule, RpcModule],
  controllers: [ImagesController, UploadsController],
  providers: [ImagesRepository, ImagesService, ImagesTransferService, ImagesRemovalService, ImageJobs, UploadStore],
  exports: [ImagesService, UploadStore],
})
export class ImagesModule {}
