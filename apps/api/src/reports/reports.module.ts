import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { HostsModule } from '../hosts/hosts.module';
import { ImagesModule } from '../images/images.module';
import { NetworksModule } from '../networks/networks.module';
import { ReportsConsumer } from './reports.consumer';

@Module({
  imports: [HostsModule, ImagesModule, EventsModule, NetworksModule],
  controllers: [],
  providers: [ReportsConsumer],
  exports: [],
})
export class ReportsModule {}
