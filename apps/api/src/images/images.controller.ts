import { Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { NotFoundError } from '@berth/domain';
import { Auth, AuthContext, Public } from '../auth/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { toOperationDto } from '../operations/operation.dto';
import { ImageDto, ImageListDto, ImageLoadAcceptedDto, LoadImageQueryDto, toImageDto } from './image.dto';
import { ImagesService } from './images.service';
import { UploadStore } from './upload-store';

@ApiTags('images')
@ApiBearerAuth()
@Controller('v1/images')
export class ImagesController {
  constructor(private readonly images: ImagesService) {}

  @Post('load')
  @ApiConsumes('application/x-tar', 'application/octet-stream')
  @ApiBody({ description: 'An OCI image-layout tar or a `docker save` tar', schema: { type: 'string', format: 'binary' } })
  @Endpoint({
    operationId: 'loadImage',
    summary: 'Load images from an OCI image-layout or docker save tar',
    status: 202,
    type: ImageLoadAcceptedDto,
    errors: [400, 404, 413, 503],
  })
  async load(@Auth() auth: AuthContext, @Query() q: LoadImageQueryDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<ImageLoadAcceptedDto> {
    const { operation, sizeBytes, sha256 } = await this.images.load(auth, req, q.host);
    res.setHeader('Location', `/v1/operations/${operation.id}`);
    return { operation: toOperationDto(operation), sizeBytes, sha256 };
  }

  @Get()
  @Endpoint({ operationId: 'listImages', summary: 'List the team’s images', type: ImageListDto })
  async list(@Auth() auth: AuthContext): Promise<ImageListDto> {
    return { items: (await this.images.list(auth)).map(toImageDto) };
  }

  @Get(':ref')
  @Endpoint({ operationId: 'getImage', summary: 'Get an image by id, digest or reference', description: 'URL-encode a reference that has slashes.', type: ImageDto, errors: [400, 404] })
  async get(@Auth() auth: AuthContext, @Param('ref') ref: string): Promise<ImageDto> {
    return toImageDto(await this.images.get(auth, ref));
  }
}

/** Where workers fetch uploaded tars: no bearer token, a signed expiring link instead. */
@Controller('v1/internal/uploads')
export class UploadsController {
  constructor(private readonly uploads: UploadStore) {}

  @Public()
  @Get(':id')
  @ApiExcludeEndpoint()
  async download(@Param('id') id: string, @Query('expires') expires: string, @Query('sig') sig: string, @Res() res: Response): Promise<void> {
    if (!this.uploads.verify(id, expires, sig)) throw new NotFoundError('no such upload, or the link expired');
    const { stream, sizeBytes } = await this.uploads.open(id);
    res.status(200).type('application/x-tar').setHeader('Content-Length', String(sizeBytes));
    stream.pipe(res);
  }
}
