import { Module } from '@nestjs/common';
import { WorkerRpc } from './worker-rpc.service';

@Module({
  imports: [],
  controllers: [],
  providers: [WorkerRpc],
  exports: [WorkerRpc],
})
export class RpcModule {}
