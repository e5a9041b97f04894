import { Body, Controller, Delete, Get, Param, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Auth, AuthContext } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { RegistriesService } from './registries.service';
import { RegistryDto, RegistryListDto, SaveRegistryDto, toRegistryDto } from './registry.dto';

@ApiTags('registries')
@Controller('v1/registries')
export class RegistriesController {
  constructor(private readonly registries: RegistriesService) {}

  @Post()
  @Endpoint({
    operationId: 'saveRegistry',
    summary: 'Save the team’s login to a registry (replaces an existing one for the same server)',
    description:
      'Pulls, pushes and creates that name an image on this server log in with it. The secret is stored encrypted and never returned. 201 when new, 200 when replaced.',
    status: 201,
    also: { 200: 'An existing login for the server was replaced' },
    type: RegistryDto,
    headers: { Location: { description: 'The login’s URL: `/v1/registries/{id}`', schema: { type: 'string' } } },
    errors: [400],
  })
  async save(@Auth() auth: AuthContext, @Body() dto: SaveRegistryDto, @Res({ passthrough: true }) res: Response): Promise<RegistryDto> {
    const { credential, created } = await this.registries.save(auth, dto);
    res.status(created ? 201 : 200);
    res.setHeader('Location', `/v1/registries/${credential.id}`);
    return toRegistryDto(credential);
  }

  @Get()
  @Endpoint({ operationId: 'listRegistries', summary: 'List the team’s registry logins (without secrets)', type: RegistryListDto })
  async list(@Auth() auth: AuthContext): Promise<RegistryListDto> {
    return { items: (await this.registries.list(auth)).map(toRegistryDto) };
  }

  @Get(':id')
  @Endpoint({ operationId: 'getRegistry', summary: 'Get a registry login by id or server (without its secret)', type: RegistryDto, errors: [400, 404] })
  async get(@Auth() auth: AuthContext, @Param('id') id: string): Promise<RegistryDto> {
    return toRegistryDto(await this.registries.get(auth, id));
  }

  @Delete(':id')
  @Endpoint({ operationId: 'deleteRegistry', summary: 'Forget a registry login', status: 204, errors: [400, 404] })
  async remove(@Auth() auth: AuthContext, @Param('id') id: string): Promise<void> {
    await this.registries.remove(auth, id);
  }
}
