import { Body, Controller, Delete, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExtraModels, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { withCpuPercent } from '@berth/domain';
import { clientGone } from '../common/abort';
import { accepted as acceptedOperation } from '../common/accepted';
import { Auth, AuthContext } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { toOperationDto } from '../operations/operation.dto';
import { CreateContainerDto } from './container-create.dto';
import { ContainerChange } from './container-jobs';
import { formatLogLine } from './container-logs';
import { NetworkAttachmentDto } from './container-parts.dto';
import {
  ContainerWaitQueryDto,
  DeleteQueryDto,
  ExecDto,
  KillQueryDto,
  ListContainersQueryDto,
  LogsQueryDto,
  RenameContainerDto,
  StatsQueryDto,
  StopQueryDto,
  UpdateContainerDto,
} from './container-request.dto';
import {
  ContainerDto,
  ContainerOperationDto,
  ContainerPageDto,
  ContainerStatsDto,
  ContainerTopDto,
  ContainerWaitDto,
  ExecResultDto,
  LogLineDto,
  toContainerDto,
} from './container-response.dto';
import { ContainersCreateService } from './containers-create.service';
import { ContainersLifecycleService } from './containers-lifecycle.service';
import { ContainersObservationService } from './containers-observation.service';
import { ContainersService } from './containers.service';

@ApiTags('containers')
@ApiExtraModels(NetworkAttachmentDto)
@Controller('v1/containers')
export class ContainersController {
  constructor(
    private readonly containers: ContainersService,
    private readonly creating: ContainersCreateService,
    private readonly lifecycle: ContainersLifecycleService,
    private readonly observation: ContainersObservationService,
  ) {}

  @Post()
  @Endpoint({
    operationId: 'createContainer',
    summary: 'Create (and by default start) a container',
    description: 'Answers 202 with the container and the operation that creates it on a host; `Location` points at the operation.',
    status: 202,
    type: ContainerOperationDto,
    errors: [400, 403, 404, 409, 503],
  })
  async create(@Auth() auth: AuthContext, @Body() dto: CreateContainerDto, @Res({ passthrough: true }) res: Response): Promise<ContainerOperationDto> {
    return accepted(res, await this.creating.create(auth, dto));
  }

  @Get()
  @Endpoint({ operationId: 'listContainers', summary: 'List the team’s containers, newest first', type: ContainerPageDto, errors: [400] })
  async list(@Auth() auth: AuthContext, @Query() query: ListContainersQueryDto): Promise<ContainerPageDto> {
    const page = await this.containers.list(auth, query);
    return { items: page.items.map(toContainerDto), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @Endpoint({ operationId: 'getContainer', summary: 'Get a container by id or name', type: ContainerDto, errors: [404] })
  async get(@Auth() auth: AuthContext, @Param('id') id: string): Promise<ContainerDto> {
    return toContainerDto(await this.containers.get(auth, id));
  }

  @Post(':id/start')
  @Endpoint({ operationId: 'startContainer', summary: 'Start a container', status: 202, type: ContainerOperationDto, errors: [404, 409] })
  async start(@Auth() auth: AuthContext, @Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<ContainerOperationDto> {
    return accepted(res, await this.lifecycle.start(auth, id));
  }

  @Post(':id/stop')
  @Endpoint({
    operationId: 'stopContainer',
    summary: 'Stop a container: SIGTERM, then SIGKILL after `timeout` seconds',
    status: 202,
    type: ContainerOperationDto,
    errors: [400, 404, 409],
  })
  async stop(
    @Auth() auth: AuthContext,
    @Param('id') id: string,
    @Query() q: StopQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ContainerOperationDto> {
    return accepted(res, await this.lifecycle.stop(auth, id, q.timeout));
  }

  @Post(':id/kill')
  @Endpoint({
    operationId: 'killContainer',
    summary: 'Send a signal to a running container',
    description: 'SIGKILL (the default) and SIGTERM suspend the restart policy until the next start, as `docker kill` does; other signals leave it in place.',
    status: 202,
    type: ContainerOperationDto,
    errors: [400, 404, 409],
  })
  async kill(
    @Auth() auth: AuthContext,
    @Param('id') id: string,
    @Query() q: KillQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ContainerOperationDto> {
    return accepted(res, await this.lifecycle.kill(auth, id, q.signal ?? 'SIGKILL'));
  }

  @Delete(':id')
  @Endpoint({
    operationId: 'deleteContainer',
    summary: 'Delete a container (force=true kills a running one first)',
    status: 202,
    type: ContainerOperationDto,
    errors: [400, 404, 409],
  })
  async remove(
    @Auth() auth: AuthContext,
    @Param('id') id: string,
    @Query() q: DeleteQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ContainerOperationDto> {
    return accepted(res, await this.lifecycle.remove(auth, id, q.force ?? false));
  }

  @Post(':id/restart')
  @Endpoint({
    operationId: 'restartContainer',
    summary: 'Stop (SIGTERM, then SIGKILL after `timeout` seconds) and start again',
    status: 202,
    type: ContainerOperationDto,
    errors: [400, 404, 409],
  })
  async restart(
    @Auth() auth: AuthContext,
    @Param('id') id: string,
    @Query() q: StopQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ContainerOperationDto> {
    return accepted(res, await this.lifecycle.restart(auth, id, q.timeout));
  }

  @Post(':id/update')
  @Endpoint({
    operationId: 'updateContainer',
    summary: 'Change a container’s limits in place',
    status: 202,
    type: ContainerOperationDto,
    errors: [400, 404, 409],
  })
  async update(
    @Auth() auth: AuthContext,
    @Param('id') id: string,
    @Body() dto: UpdateContainerDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ContainerOperationDto> {
    return accepted(res, await this.lifecycle.update(auth, id, dto.resources));
  }

  @Post(':id/rename')
  @Endpoint({ operationId: 'renameContainer', summary: 'Rename a container', type: ContainerDto, errors: [400, 404, 409] })
  async rename(@Auth() auth: AuthContext, @Param('id') id: string, @Body() dto: RenameContainerDto): Promise<ContainerDto> {
    return toContainerDto(await this.lifecycle.rename(auth, id, dto.name));
  }

  @Post(':id/pause')
  @Endpoint({
    operationId: 'pauseContainer',
    summary: 'Freeze every process of a running container',
    status: 202,
    type: ContainerOperationDto,
    errors: [404, 409],
  })
  async pause(@Auth() auth: AuthContext, @Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<ContainerOperationDto> {
    return accepted(res, await this.lifecycle.pause(auth, id));
  }

  @Post(':id/unpause')
  @Endpoint({ operationId: 'unpauseContainer', summary: 'Thaw a paused container', status: 202, type: ContainerOperationDto, errors: [404, 409] })
  async unpause(@Auth() auth: AuthContext, @Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<ContainerOperationDto> {
    return accepted(res, await this.lifecycle.unpause(auth, id));
  }

  @Post(':id/exec')
  @Endpoint({
    operationId: 'execInContainer',
    summary: 'Run a command in a running container and answer its exit code and output',
    description:
      'Synchronous: answers when the process ends or after `timeoutSec` (then it is killed, exit code 137). Each stream keeps its first 1 MiB. ' +
      'For an interactive console with a terminal, open a WebSocket on `/v1/containers/{id}/exec/ws?cmd=sh&cols=80&rows=24` ' +
      '(send `{"type":"stdin","data":…}` and `{"type":"resize","cols":…,"rows":…}`; receive `{"type":"stdout","data":…}` then `{"type":"exit","exitCode":…}`).',
    type: ExecResultDto,
    errors: [400, 404, 409, 503],
  })
  async exec(@Auth() auth: AuthContext, @Param('id') id: string, @Body() dto: ExecDto): Promise<ExecResultDto> {
    return this.observation.exec(auth, id, dto);
  }

  @Get(':id/stats')
  @Endpoint({
    operationId: 'getContainerStats',
    summary: 'Resource use of a running container: one sample, or a stream',
    description: 'With `stream=true`, one JSON sample per line every second (with CPU percent) until the container stops or the client disconnects.',
    content: {
      'application/json': { type: ContainerStatsDto },
      'application/x-ndjson': { type: ContainerStatsDto, description: 'With `stream=true`: one ContainerStats per line' },
    },
    errors: [400, 404, 409, 503],
  })
  async stats(@Auth() auth: AuthContext, @Param('id') id: string, @Query() q: StatsQueryDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    const first = await this.observation.stats(auth, id);
    if (!q.stream) {
      res.status(200).json(first);
      return;
    }
    const gone = clientGone(req);
    res.status(200).type('application/x-ndjson');
    res.write(JSON.stringify(first) + '\n');
    let previous = first;
    // One sample a second while the client listens; ends when the container stops.
    for (let i = 0; i < 24 * 3600 && !gone.aborted; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      if (gone.aborted) break;
      const sample = await this.observation.stats(auth, id).catch(() => undefined);
      if (!sample) break;
      res.write(JSON.stringify(withCpuPercent(previous, sample)) + '\n');
      previous = sample;
    }
    res.end();
  }

  @Get(':id/top')
  @Endpoint({ operationId: 'listContainerProcesses', summary: 'The processes running in a container', type: ContainerTopDto, errors: [404, 409, 503] })
  async top(@Auth() auth: AuthContext, @Param('id') id: string): Promise<ContainerTopDto> {
    return { processes: await this.observation.top(auth, id) };
  }

  @Get(':id/wait')
  @Endpoint({
    operationId: 'waitContainer',
    summary: 'Wait for a container to reach a condition',
    description: 'Long-poll. `met` is false when the timeout passed first or the container can no longer reach the condition (it failed or was removed).',
    type: ContainerWaitDto,
    errors: [400, 404],
  })
  async wait(@Auth() auth: AuthContext, @Param('id') id: string, @Query() q: ContainerWaitQueryDto, @Req() req: Request): Promise<ContainerWaitDto> {
    const { condition, met, status, exitCode, error } = await this.observation.wait(auth, id, q.condition ?? 'not-running', q.timeout ?? 60, clientGone(req));
    return { condition, met, status, exitCode, error };
  }

  @Get(':id/logs')
  @Endpoint({
    operationId: 'getContainerLogs',
    summary: 'Read (or follow) a container’s stdout and stderr',
    description:
      'Text lines by default; `format=ndjson` gives one `{stream, time, line}` object per line. With `follow=true` the response stays open until the container exits or the client disconnects.',
    content: {
      'text/plain': {
        schema: { type: 'string', example: 'hello\n', description: 'One line of output per line, prefixed with its time when `timestamps=true`' },
      },
      'application/x-ndjson': { type: LogLineDto, description: 'With `format=ndjson`: one LogLine per line' },
    },
    errors: [400, 404, 503],
  })
  async logs(@Auth() auth: AuthContext, @Param('id') id: string, @Query() q: LogsQueryDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    const stream = await this.observation.logs(auth, id, q, clientGone(req));
    const format = q.format ?? 'text';
    // Read the first batch before answering, so an error still becomes a problem+json.
    const first = await stream.next();
    res.status(200).type(format === 'ndjson' ? 'application/x-ndjson' : 'text/plain; charset=utf-8');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const write = (lines: { stream: 'stdout' | 'stderr'; time: string; line: string }[]) => {
      if (lines.length) res.write(lines.map((l) => formatLogLine(l, format, q.timestamps ?? false)).join(''));
    };
    try {
      if (!first.done) write(first.value);
      if (q.follow) res.flushHeaders();
      for await (const batch of stream) write(batch);
    } finally {
      res.end();
    }
  }
}

/** The 202 answer to a change of a container: the container and the operation that carries the change out. */
export function accepted(res: Response, change: ContainerChange): ContainerOperationDto {
  return acceptedOperation(res, change.operation.id, { container: toContainerDto(change.container), operation: toOperationDto(change.operation) });
}
