import { createBerthClient } from './client';
import { createContainer, getContainer, listContainers } from './generated/sdk.gen';
import { BerthProblem, isBerthProblem } from './problem';
import { json, type ScriptServer, scriptServer } from './testing/script-server';

describe('createBerthClient', () => {
  let server: ScriptServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('sends the token as a bearer (a function is asked on each request) and the extra headers', async () => {
    server = await scriptServer(json(200, { items: [], nextCursor: null }));
    let asked = 0;
    const client = createBerthClient({ baseUrl: `${server.baseUrl}/`, token: () => `berth_${++asked}`, headers: { 'X-Trace': 'abc' } });
    await listContainers({ client });
    await listContainers({ client });
    expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer berth_1', 'Bearer berth_2']);
    expect(server.requests[0].headers['x-trace']).toBe('abc');
    expect(server.requests[0].path).toBe('/v1/containers');
  });

  it('throws a 404 problem+json as a BerthProblem with its fields', async () => {
    const problem = {
      type: 'https://berth.dev/problems/not-found',
      status: 404,
      title: 'Not Found',
      detail: 'no container web-9',
      class: 'NotFound',
      reason: 'ContainerNotFound',
      requestId: 'req-42',
    };
    server = await scriptServer(json(404, problem));
    const client = createBerthClient({ baseUrl: server.baseUrl, token: 't' });
    const failure = await getContainer({ client, path: { id: 'web-9' } }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(BerthProblem);
    const p = failure as BerthProblem;
    expect([p.status, p.type, p.title, p.detail, p.errorClass, p.reason, p.requestId]).toEqual([
      404,
      'https://berth.dev/problems/not-found',
      'Not Found',
      'no container web-9',
      'NotFound',
      'ContainerNotFound',
      'req-42',
    ]);
    expect(p.message).toBe('Not Found: no container web-9');
    expect(isBerthProblem(failure, 'ContainerNotFound')).toBe(true);
    expect(isBerthProblem(failure, 'ImageNotFound')).toBe(false);
    expect(server.requests[0].path).toBe('/v1/containers/web-9');
  });

  it('gives the field errors of a 400 by name', async () => {
    server = await scriptServer(
      json(400, {
        type: 'about:blank',
        status: 400,
        title: 'Bad Request',
        detail: 'the request is not valid',
        class: 'InvalidArgument',
        reason: 'InvalidArgument',
        errors: [
          { field: 'cmd', message: 'must be an array of strings' },
          { field: 'image', message: 'must not be empty' },
        ],
      }),
    );
    const client = createBerthClient({ baseUrl: server.baseUrl, token: 't' });
    const failure = (await createContainer({ client, body: { image: '' } }).catch((e: unknown) => e)) as BerthProblem;
    expect(failure).toBeInstanceOf(BerthProblem);
    expect(failure.status).toBe(400);
    expect(failure.fieldError('cmd')).toBe('must be an array of strings');
    expect(failure.fieldError('image')).toBe('must not be empty');
    expect(failure.fieldError('name')).toBeUndefined();
    expect(failure.errors).toHaveLength(2);
  });

  it('makes a non-JSON 502 a BerthProblem with its status and text', async () => {
    server = await scriptServer((_req, res) => void res.writeHead(502, 'Bad Gateway', { 'Content-Type': 'text/html' }).end('<h1>upstream down</h1>'));
    const client = createBerthClient({ baseUrl: server.baseUrl, token: 't' });
    const failure = (await listContainers({ client }).catch((e: unknown) => e)) as BerthProblem;
    expect(failure).toBeInstanceOf(BerthProblem);
    expect(failure.status).toBe(502);
    expect(failure.title).toBe('Bad Gateway');
    expect(failure.detail).toBe('<h1>upstream down</h1>');
    expect(failure.reason).toBeUndefined();
    expect(failure.errors).toEqual([]);
  });

  it('reads Retry-After and X-Request-Id from the headers of a 503', async () => {
    server = await scriptServer(
      json(
        503,
        { type: 'about:blank', status: 503, title: 'Service Unavailable', detail: 'host-1 is unreachable', reason: 'HostUnavailable' },
        {
          'Retry-After': '7',
          'X-Request-Id': 'req-7',
        },
      ),
    );
    const client = createBerthClient({ baseUrl: server.baseUrl, token: 't' });
    const failure = (await listContainers({ client }).catch((e: unknown) => e)) as BerthProblem;
    expect(failure.status).toBe(503);
    expect(failure.retryAfter).toBe(7);
    expect(failure.requestId).toBe('req-7');
    expect(failure.reason).toBe('HostUnavailable');
  });
});
