import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Auth, AuthContext } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { CreateNetworkDto, NetworkDto, NetworkListDto, PrunedNetworksDto } from './network.dto';
import { NetworkView, NetworksService } from './networks.service';

@ApiTags('networks')
@Controller('v1/networks')
export class NetworksController {
  constructor(private readonly networks: NetworksService) {}

  @Post()
  @Endpoint({ operationId: 'createNetwork', summary: 'Create a bridge network', status: 201, type: NetworkDto, errors: [400, 409, 503] })
  async create(@Auth() auth: AuthContext, @Body() dto: CreateNetworkDto): Promise<NetworkDto> {
    const network = await this.networks.create(auth, dto);
    return toNetworkDto(await this.networks.get(auth, network.id));
  }

  @Post('prune')
  @Endpoint({ operationId: 'pruneNetworks', summary: 'Delete the team’s networks that have no containers (not the default one)', type: PrunedNetworksDto })
  async prune(@Auth() auth: AuthContext): Promise<PrunedNetworksDto> {
    return { deleted: await this.networks.prune(auth) };
  }

  @Get()
  @Endpoint({ operationId: 'listNetworks', summary: 'List the team’s networks', type: NetworkListDto })
  async list(@Auth() auth: AuthContext): Promise<NetworkListDto> {
    return { items: (await this.networks.list(auth)).map(toNetworkDto) };
  }

  @Get(':id')
  @Endpoint({ operationId: 'getNetwork', summary: 'Get a network by id or name, with its containers and their addresses', type: NetworkDto, errors: [404] })
  async get(@Auth() auth: AuthContext, @Param('id') id: string): Promise<NetworkDto> {
    return toNetworkDto(await this.networks.get(auth, id));
  }

  @Delete(':id')
  @Endpoint({ operationId: 'deleteNetwork', summary: 'Delete a network (refused while containers are on it)', status: 204, errors: [404, 409] })
  async remove(@Auth() auth: AuthContext, @Param('id') id: string): Promise<void> {
    await this.networks.remove(auth, id);
  }
}

function toNetworkDto({ network: n, endpoints }: NetworkView): NetworkDto {
  return {
    id: n.id,
    name: n.name,
    driver: n.driver,
    subnet: n.subnet,
    gateway: n.gateway,
    ipRange: n.ipRange,
    internal: n.internal,
    isDefault: n.isDefault,
    labels: n.labels,
    containers: endpoints.map((e) => ({
      containerId: e.containerId,
      containerName: e.containerName,
      hostId: e.hostId,
      ipAddress: e.ipAddress,
      aliases: e.aliases,
    })),
    createdAt: n.createdAt.toISOString(),
  };
}
