import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiExtraModels, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { clientGone } from '../common/abort';
import { Auth, AuthContext } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { BerthEvent, EventBus } from './event-bus.service';
import { EventDto, EventsQueryDto } from './event.dto';

const KEEPALIVE_MS = 15_000;

@ApiTags('events')
@Controller('v1/events')
export class EventsController {
  constructor(private readonly events: EventBus) {}

  @Get()
  @ApiExtraModels(EventDto)
  @Endpoint({
    operationId: 'streamEvents',
    summary: 'Follow the team’s events as they happen (server-sent events)',
    description:
      'Each event is an SSE message whose `event` is its type and whose `data` is an Event as JSON. The stream stays open until the client disconnects; a comment line every 15 s keeps proxies from closing it.',
    content: {
      'text/event-stream': {
        schema: {
          type: 'string',
          description: 'Server-sent events: `event` is the type, `data` an Event as JSON (x-berth-data); comment lines keep the stream alive',
          example: 'event: container.running\ndata: {"type":"container.running","id":"…","at":"…","attributes":{}}\n\n',
          'x-berth-data': { $ref: getSchemaPath(EventDto) },
        },
      },
    },
    errors: [400],
  })
  stream(@Auth() auth: AuthContext, @Query() q: EventsQueryDto, @Req() req: Request, @Res() res: Response): void {
    const wanted = q.type ?? [];
    const matches = (e: BerthEvent) => !wanted.length || wanted.some((t) => (t.endsWith('.') ? e.type.startsWith(t) : e.type === t));
    res.status(200).setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write(': connected\n\n');
    const unsubscribe = this.events.subscribeTeam(auth.teamId, (e) => {
      if (!matches(e)) return;
      const body: EventDto = { type: e.type, id: e.id, at: e.at, attributes: e.attributes };
      res.write(`event: ${e.type}\ndata: ${JSON.stringify(body)}\n\n`);
    });
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    clientGone(req).addEventListener('abort', () => {
      clearInterval(keepalive);
      unsubscribe();
      res.end();
    });
  }
}
