import { Module } from '@nestjs/common';
import { TeamsModule } from '../teams/teams.module';
import { HostsController } from './hosts.controller';
import { HostsRepository } from './hosts.repository';
import { HostsService } from './hosts.service';

@Module({
  imports: [TeamsModule],
  controllers: [HostsController],
  providers: [HostsRepository, HostsService],
  exports: [HostsService],
})
export class HostsModule {}
