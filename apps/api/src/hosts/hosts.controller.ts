import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Auth, AuthContext } from '../auth/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { HostDto, HostListDto, toHostDto } from './host.dto';
import { HostsService } from './hosts.service';

@ApiTags('hosts')
@ApiBearerAuth()
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
}
