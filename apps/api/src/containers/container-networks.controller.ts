import { Body, Controller, Param, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { parseNetworkRequests } from '@berth/domain';
import { Auth, AuthContext } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { NetworksService } from '../networks/networks.service';
import { ConnectContainerDto, DisconnectContainerDto } from './container-networks.dto';
import { ContainerOperationDto } from './container-response.dto';
import { ContainersLifecycleService } from './containers-lifecycle.service';
import { accepted } from './containers.controller';

/** Joining and leaving networks: changes of a container, under the networks' paths. */
@ApiTags('networks')
@Controller('v1/networks')
export class ContainerNetworksController {
  constructor(
    private readonly networks: NetworksService,
    private readonly lifecycle: ContainersLifecycleService,
  ) {}

  @Post(':id/connect')
  @Endpoint({
    operationId: 'connectContainer',
    summary: 'Put a container on the network (an address now; wired on its host by the operation)',
    status: 202,
    type: ContainerOperationDto,
    errors: [400, 404, 409],
  })
  async connect(
    @Auth() auth: AuthContext,
    @Param('id') id: string,
    @Body() dto: ConnectContainerDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ContainerOperationDto> {
    const [request] = parseNetworkRequests([
      { name: id, ...(dto.aliases ? { aliases: dto.aliases } : {}), ...(dto.ipAddress ? { ipAddress: dto.ipAddress } : {}) },
    ]);
    return accepted(res, await this.lifecycle.connect(auth, dto.container, request));
  }

  @Post(':id/disconnect')
  @Endpoint({
    operationId: 'disconnectContainer',
    summary: 'Take a container off the network',
    status: 202,
    type: ContainerOperationDto,
    errors: [400, 404, 409],
  })
  async disconnect(
    @Auth() auth: AuthContext,
    @Param('id') id: string,
    @Body() dto: DisconnectContainerDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ContainerOperationDto> {
    return accepted(res, await this.lifecycle.disconnect(auth, dto.container, await this.networks.idOf(auth, id)));
  }
}
