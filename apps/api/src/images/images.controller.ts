import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Body, Controller, Delete, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Host, NotFoundError, familiarImageReference, parseImageReference } from '@berth/domain';
import { accepted } from '../common/accepted';
import { Auth, AuthContext, Public } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { HostsService } from '../hosts/hosts.service';
import { toOperationDto } from '../operations/operation.dto';
import { WorkerRpc } from '../rpc/worker-rpc.service';
import {
  ForceQueryDto,
  ImageDto,
  ImageHistoryDto,
  ImageListDto,
  ImageLoadAcceptedDto,
  ImageOperationDto,
  LoadImageQueryDto,
  PruneImagesDto,
  PullImageDto,
  PushImageDto,
  RemovedImagesDto,
  TagImageDto,
  toImageDto,
} from './image.dto';
import { ImagesRemovalService, RemovedImages } from './images-removal.service';
import { ImagesTransferService } from './images-transfer.service';
import { ImagesService } from './images.service';
import { UploadStore } from './upload-store.service';

const REF_NOTE = 'URL-encode a reference that has slashes.';

@ApiTags('images')
@Controller('v1/images')
export class ImagesController {
  constructor(
    private readonly images: ImagesService,
    private readonly transfers: ImagesTransferService,
    private readonly removals: ImagesRemovalService,
    private readonly hosts: HostsService,
    private readonly rpc: WorkerRpc,
  ) {}

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
  async load(
    @Auth() auth: AuthContext,
    @Query() q: LoadImageQueryDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ImageLoadAcceptedDto> {
    const { operation, sizeBytes, sha256 } = await this.transfers.load(auth, req, q.host);
    return accepted(res, operation.id, { operation: toOperationDto(operation), sizeBytes, sha256 });
  }

  @Post('pull')
  @Endpoint({
    operationId: 'pullImage',
    summary: 'Pull an image from its registry onto a host',
    description:
      'The operation’s `progress` counts layers and bytes; when it succeeds, `result.images` has the image. ' +
      'The team’s login for the registry (`/v1/registries`) is used when it has one. Registries on loopback may answer plain HTTP.',
    status: 202,
    type: ImageOperationDto,
    errors: [400, 404, 503],
  })
  async pull(@Auth() auth: AuthContext, @Body() dto: PullImageDto, @Res({ passthrough: true }) res: Response): Promise<ImageOperationDto> {
    const operation = await this.transfers.pull(auth, dto.reference, { host: dto.host, platform: dto.platform });
    return accepted(res, operation.id, { operation: toOperationDto(operation) });
  }

  @Post('prune')
  @Endpoint({
    operationId: 'pruneImages',
    summary: 'Delete the team’s untagged images (or all unused ones) and collect unreferenced blobs and layers on the hosts',
    type: RemovedImagesDto,
    errors: [400],
  })
  async prune(@Auth() auth: AuthContext, @Body() dto: PruneImagesDto): Promise<RemovedImagesDto> {
    return toRemovedDto(await this.removals.prune(auth, dto.all === true));
  }

  @Get()
  @Endpoint({ operationId: 'listImages', summary: 'List the team’s images', type: ImageListDto })
  async list(@Auth() auth: AuthContext): Promise<ImageListDto> {
    const hosts = await this.hostMap(auth);
    return { items: (await this.images.list(auth)).map((i) => toImageDto(i, hosts)) };
  }

  @Get(':ref')
  @Endpoint({ operationId: 'getImage', summary: 'Get an image by id, digest or reference', description: REF_NOTE, type: ImageDto, errors: [400, 404] })
  async get(@Auth() auth: AuthContext, @Param('ref') ref: string): Promise<ImageDto> {
    return toImageDto(await this.images.get(auth, ref), await this.hostMap(auth));
  }

  @Get(':ref/history')
  @Endpoint({
    operationId: 'getImageHistory',
    summary: 'The steps that built an image, newest first (docker history)',
    description: REF_NOTE,
    type: ImageHistoryDto,
    errors: [400, 404],
  })
  async history(@Auth() auth: AuthContext, @Param('ref') ref: string): Promise<ImageHistoryDto> {
    return { items: (await this.images.get(auth, ref)).primary.history ?? [] };
  }

  @Get(':ref/export')
  @Endpoint({
    operationId: 'exportImage',
    summary: 'Export an image as a tar that `docker load` and OCI tools accept',
    description: `An OCI image layout with a docker-save manifest.json beside it. ${REF_NOTE}`,
    content: { 'application/x-tar': { schema: { type: 'string', format: 'binary' } } },
    headers: { 'Content-Disposition': { description: 'attachment; filename="<image>.tar"', schema: { type: 'string' } } },
    errors: [400, 404, 503],
  })
  async export(@Auth() auth: AuthContext, @Param('ref') ref: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const image = await this.images.get(auth, ref);
    const host = await this.images.hostHolding(auth, image);
    const abort = new AbortController();
    req.on('close', () => abort.abort());
    const chunks = this.rpc.exportImages(host.name, [{ digest: image.digest, references: image.references }], abort.signal);
    // The first chunk decides between an error answer and a download.
    const first = await chunks.next();
    const name = (image.references[0] ? familiarImageReference(parseImageReference(image.references[0])) : image.digest.slice(7, 19)).replace(
      /[^A-Za-z0-9._-]+/g,
      '_',
    );
    res.status(200).type('application/x-tar').setHeader('Content-Disposition', `attachment; filename="${name}.tar"`);
    async function* all() {
      if (!first.done) yield first.value;
      yield* chunks;
    }
    await pipeline(Readable.from(all()), res).catch(() => res.destroy());
  }

  @Post(':ref/tag')
  @Endpoint({ operationId: 'tagImage', summary: 'Give an image another reference (docker tag)', description: REF_NOTE, type: ImageDto, errors: [400, 404] })
  async tag(@Auth() auth: AuthContext, @Param('ref') ref: string, @Body() dto: TagImageDto): Promise<ImageDto> {
    return toImageDto(await this.images.tag(auth, ref, dto.reference), await this.hostMap(auth));
  }

  @Post(':ref/push')
  @Endpoint({
    operationId: 'pushImage',
    summary: 'Push an image to a registry',
    description: `Uses the team’s login for the registry when it has one. ${REF_NOTE}`,
    status: 202,
    type: ImageOperationDto,
    errors: [400, 404, 503],
  })
  async push(
    @Auth() auth: AuthContext,
    @Param('ref') ref: string,
    @Body() dto: PushImageDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ImageOperationDto> {
    const operation = await this.transfers.push(auth, ref, dto.reference);
    return accepted(res, operation.id, { operation: toOperationDto(operation) });
  }

  @Delete(':ref')
  @Endpoint({
    operationId: 'deleteImage',
    summary: 'Delete an image, or untag it when the reference is one of several',
    description: `Refused (409 ImageInUse) while a container of the team uses it, unless force=true. ${REF_NOTE}`,
    type: RemovedImagesDto,
    errors: [400, 404, 409],
  })
  async remove(@Auth() auth: AuthContext, @Param('ref') ref: string, @Query() q: ForceQueryDto): Promise<RemovedImagesDto> {
    return toRemovedDto(await this.removals.remove(auth, ref, q.force === true));
  }

  private async hostMap(auth: AuthContext): Promise<Map<string, Host>> {
    return new Map((await this.hosts.list(auth)).map((h) => [h.id, h]));
  }
}

function toRemovedDto(r: RemovedImages): RemovedImagesDto {
  return { untagged: r.untagged, deleted: r.deleted, operations: r.operations.map(toOperationDto) };
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
