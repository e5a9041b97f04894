import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { JobProducer } from '../queue/job-producer';
import { OperationsController } from './operations.controller';
import { OperationsService } from './operations.service';

@Module({
  imports: [EventsModule],
  controllers: [OperationsController],
  providers: [OperationsService, JobProducer],
  exports: [OperationsService, JobProducer],
})
export class OperationsModule {}
