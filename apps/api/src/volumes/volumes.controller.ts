import { Body, Controller, Delete, Get, Param, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Auth, AuthContext } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { toOperationDto } from '../operations/operation.dto';
import { VolumeRemovals } from './volume-removals.service';
import { CreateVolumeDto, VolumeDto, VolumeListDto, VolumeRemovedDto } from './volume.dto';
import { VolumeView, VolumesService } from './volumes.service';

@ApiTags('volumes')
@Controller('v1/volumes')
export class VolumesController {
  constructor(
    private readonly volumes: VolumesService,
    private readonly removals: VolumeRemovals,
  ) {}

  @Post()
  @Endpoint({
    operationId: 'createVolume',
    summary: 'Create a named volume on a host',
    status: 201,
    type: VolumeDto,
    headers: { Location: { description: 'The volume’s URL: `/v1/volumes/{id}`', schema: { type: 'string' } } },
    errors: [400, 404, 409, 503],
  })
  async create(@Auth() auth: AuthContext, @Body() dto: CreateVolumeDto, @Res({ passthrough: true }) res: Response): Promise<VolumeDto> {
    const volume = await this.volumes.create(auth, dto);
    res.setHeader('Location', `/v1/volumes/${volume.id}`);
    return toVolumeDto(await this.volumes.get(auth, volume.id));
  }

  @Post('prune')
  @Endpoint({ operationId: 'pruneVolumes', summary: 'Delete every volume of the team that no container mounts', type: VolumeRemovedDto })
  async prune(@Auth() auth: AuthContext): Promise<VolumeRemovedDto> {
    const { deleted, operations } = await this.removals.prune(auth);
    return { deleted, operations: operations.map(toOperationDto) };
  }

  @Get()
  @Endpoint({ operationId: 'listVolumes', summary: 'List the team’s volumes', type: VolumeListDto })
  async list(@Auth() auth: AuthContext): Promise<VolumeListDto> {
    return { items: (await this.volumes.list(auth)).map(toVolumeDto) };
  }

  @Get(':id')
  @Endpoint({ operationId: 'getVolume', summary: 'Get a volume by id or name: its mountpoint, size and users', type: VolumeDto, errors: [404] })
  async get(@Auth() auth: AuthContext, @Param('id') id: string): Promise<VolumeDto> {
    return toVolumeDto(await this.volumes.get(auth, id));
  }

  @Delete(':id')
  @Endpoint({
    operationId: 'deleteVolume',
    summary: 'Delete a volume and its data (refused while a container mounts it)',
    type: VolumeRemovedDto,
    errors: [404, 409],
  })
  async remove(@Auth() auth: AuthContext, @Param('id') id: string): Promise<VolumeRemovedDto> {
    const { deleted, operations } = await this.removals.remove(auth, id);
    return { deleted, operations: operations.map(toOperationDto) };
  }
}

function toVolumeDto({ volume, host, usedBy, sizeBytes }: VolumeView): VolumeDto {
  const dir = host?.info?.volumesDir;
  return {
    id: volume.id,
    name: volume.name,
    driver: volume.driver,
    labels: volume.labels,
    hostId: volume.hostId,
    mountpoint: dir ? `${dir}/${volume.id}/_data` : null,
    sizeBytes,
    usedBy: usedBy.map((c) => ({ id: c.id, name: c.name })),
    createdAt: volume.createdAt.toISOString(),
  };
}
