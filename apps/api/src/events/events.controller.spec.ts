import { get, IncomingMessage } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createControllerHarness, TEAM_AUTH } from '../testing/controller-harness';
import { strictMock } from '../testing/strict-mock';
import { BerthEvent, EventBus } from './event-bus.service';
import { EventsController } from './events.controller';

describe('EventsController', () => {
  let app: INestApplication;
  let port: number;
  let listener: ((e: BerthEvent) => void) | undefined;
  const unsubscribe = jest.fn();
  const events = strictMock<EventBus>({
    subscribeTeam: jest.fn((_teamId: string, l: (e: BerthEvent) => void) => {
      listener = l;
      return unsubscribe;
    }),
  });

  beforeAll(async () => {
    app = await createControllerHarness({ controllers: [EventsController], providers: [{ provide: EventBus, useValue: events }] });
    const server = app.getHttpServer() as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => app.close());
  beforeEach(() => {
    jest.clearAllMocks();
    listener = undefined;
  });

  /** Opens the stream and reads it until `until` says it has seen enough, then hangs up. */
  function follow(path: string, until: (text: string) => boolean): Promise<{ res: IncomingMessage; text: string }> {
    return new Promise((resolve, reject) => {
      const req = get({ host: '127.0.0.1', port, path, headers: { Authorization: 'Bearer team' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (until(text)) {
            req.destroy();
            resolve({ res, text });
          }
        });
      });
      req.on('error', (err) => (err.message === 'socket hang up' ? undefined : reject(err)));
    });
  }

  /** How many subscriptions ended, once the server has seen the client go (within a second). */
  async function hungUp(): Promise<number> {
    for (let i = 0; i < 50 && !unsubscribe.mock.calls.length; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    return unsubscribe.mock.calls.length;
  }

  const event = (type: string): BerthEvent => ({ type, id: 'ctr_1', teamId: TEAM_AUTH.teamId, at: '2026-12-01T10:00:00.000Z', attributes: { name: 'web' } });

  it('GET /v1/events streams the team’s events as server-sent events', async () => {
    const streamed = follow('/v1/events', (text) => {
      if (text.includes(': connected') && listener && !text.includes('event:')) listener(event('container.running'));
      return text.includes('event: container.running');
    });
    const { res, text } = await streamed;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-accel-buffering']).toBe('no');
    expect(events.subscribeTeam).toHaveBeenCalledWith(TEAM_AUTH.teamId, expect.any(Function));
    expect(text).toBe(
      ': connected\n\n' +
        `event: container.running\ndata: ${JSON.stringify({ type: 'container.running', id: 'ctr_1', at: '2026-12-01T10:00:00.000Z', attributes: { name: 'web' } })}\n\n`,
    );
    await expect(hungUp()).resolves.toBe(1);
  });

  it('sends only the types asked for (a trailing dot is a prefix), and unsubscribes when the client goes', async () => {
    const { text } = await follow('/v1/events?type=operation.&type=container.exited', (text) => {
      if (text.includes(': connected') && listener && !text.includes('event:')) {
        listener(event('container.running'));
        listener(event('operation.succeeded'));
        listener(event('container.exited'));
      }
      return text.includes('event: container.exited');
    });
    expect(text).not.toContain('container.running');
    expect(text).toContain('event: operation.succeeded\n');
    await expect(hungUp()).resolves.toBe(1);
  });

  it('answers 400 naming the field for a query parameter it does not know', async () => {
    const res = await request(app.getHttpServer()).get('/v1/events?kind=container').set('Authorization', 'Bearer team').expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'kind' })]);
    expect(events.subscribeTeam).not.toHaveBeenCalled();
  });

  it('answers 401 without a token', async () => {
    const res = await request(app.getHttpServer()).get('/v1/events').expect(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(events.subscribeTeam).not.toHaveBeenCalled();
  });
});
