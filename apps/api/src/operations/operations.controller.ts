import { Controller, Get, Param, Query, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { clientGone } from '../common/abort';
import { Auth, AuthContext } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { OperationDto, WaitQueryDto, toOperationDto } from './operation.dto';
import { OperationsService } from './operations.service';

@ApiTags('operations')
@Controller('v1/operations')
export class OperationsController {
  constructor(private readonly operations: OperationsService) {}

  @Get(':id')
  @Endpoint({ operationId: 'getOperation', summary: 'Get an operation', type: OperationDto, errors: [404] })
  async get(@Auth() auth: AuthContext, @Param('id') id: string): Promise<OperationDto> {
    return toOperationDto(await this.operations.get(auth, id));
  }

  @Get(':id/wait')
  @Endpoint({
    operationId: 'waitOperation',
    summary: 'Wait for an operation to finish',
    description: 'Long-poll: answers when the operation has succeeded or failed, or with its current state after `timeout` seconds.',
    type: OperationDto,
    errors: [400, 404],
  })
  async wait(@Auth() auth: AuthContext, @Param('id') id: string, @Query() query: WaitQueryDto, @Req() req: Request): Promise<OperationDto> {
    return toOperationDto(await this.operations.wait(auth, id, query.timeout ?? 30, clientGone(req)));
  }
}
