import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { HostsModule } from '../hosts/hosts.module';
import { ImagesModule } from '../images/images.module';
import { NetworksModule } from '../networks/networks.module';
import { ContainerReportsRepository } from './container-reports.repository';
import { HostReports } from './host-reports.service';
import { OperationReportsRepository } from './operation-reports.repository';
import { OperationReports } from './operation-reports.service';
import { ReportsConsumer } from './reports.consumer';

@Module({
  imports: [HostsModule, ImagesModule, EventsModule, NetworksModule],
  controllers: [],
  providers: [ContainerReportsRepository, OperationReportsRepository, HostReports, OperationReports, ReportsConsumer],
  exports: [],
})
export class ReportsModule {}
