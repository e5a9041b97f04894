import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { JobProducer } from './job-producer.service';
import { OperationsController } from './operations.controller';
import { OperationsRepository } from './operations.repository';
import { OperationsService } from './operations.service';

@Module({
  imports: [EventsModule],
  controllers: [OperationsController],
  providers: [OperationsRepository, OperationsService, JobProducer],
  exports: [OperationsService, JobProducer],
})
export class OperationsModule {}
