import { Controller, Delete, Get, HttpCode, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminOnly, Auth, AuthContext } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { DeleteHostQueryDto, HostDto, HostListDto, toHostDto } from './host.dto';
import { HostsService } from './hosts.service';

@ApiTags('hosts')
@Controller('v1/hosts')
export class HostsController {
  constructor(private readonly hosts: HostsService) {}

  @Get()
  @Endpoint({ operationId: 'listHosts', summary: 'List the hosts the team can run containers on', type: HostListDto })
  async list(@Auth() auth: AuthContext): Promise<HostListDto> {
    return { items: (await this.hosts.list(auth)).map(toHostDto) };
  }

  @Get(':id')
  @Endpoint({ operationId: 'getHost', summary: 'Get a host by id or name', type: HostDto, errors: [404] })
  async get(@Auth() auth: AuthContext, @Param('id') id: string): Promise<HostDto> {
    return toHostDto(await this.hosts.get(auth, id));
  }

  @Delete(':id')
  @AdminOnly('remove hosts')
  @HttpCode(204)
  @Endpoint({
    operationId: 'deleteHost',
    summary: 'Forget a host (admins only): refused while containers or volumes are on it',
    description:
      'Stop its worker first: a host that is still `ready` is refused unless `force=true`, and a worker that keeps running registers its host again with its next heartbeat. The host’s image records go with it.',
    status: 204,
    errors: [400, 403, 404, 409],
  })
  async remove(@Auth() auth: AuthContext, @Param('id') id: string, @Query() query: DeleteHostQueryDto): Promise<void> {
    await this.hosts.remove(auth, id, query.force === true);
  }
}
