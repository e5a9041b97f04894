import { Module } from '@nestjs/common';
import { RegistriesController, RegistryLoginsController } from './registries.controller';
import { RegistriesService } from './registries.service';

@Module({
  imports: [],
  controllers: [RegistriesController, RegistryLoginsController],
  providers: [RegistriesService],
  exports: [RegistriesService],
})
export class RegistriesModule {}
