import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { FailedPreconditionError, TtyInput, UnauthenticatedError } from '@berth/domain';
import { Reply, WorkerRpc } from '../rpc/worker-rpc.service';
import { AuthService } from '../teams/auth.service';
import { TEAM_AUTH } from '../testing/controller-harness';
import { strictMock } from '../testing/strict-mock';
import { ContainersObservationService } from './containers-observation.service';
import { ExecSocketServer } from './exec-socket.server';

/** The console over a real HTTP server and a real WebSocket client; the worker's side is a scripted reply stream. */
describe('ExecSocketServer', () => {
  const auth = strictMock<AuthService>({ authenticate: jest.fn() });
  const observation = strictMock<ContainersObservationService>({ console: jest.fn() });
  const rpc = strictMock<WorkerRpc>({ tty: jest.fn() });
  let server: Server;
  let sockets: ExecSocketServer;
  let base: string;
  let sent: TtyInput[];
  let release: () => void;

  /** Replies the worker would give: output, then (once the test releases it) the exit. */
  async function* workerReplies(signal: AbortSignal): AsyncGenerator<Reply> {
    yield { t: 'data', d: 'hello\r\n' };
    await new Promise<void>((resolve) => {
      release = resolve;
      signal.addEventListener('abort', () => resolve());
    });
    if (!signal.aborted) yield { t: 'end', c: '3' };
  }

  beforeEach(async () => {
    jest.clearAllMocks();
    sent = [];
    auth.authenticate.mockImplementation(async (header) => {
      if (header === 'Bearer good') return TEAM_AUTH;
      throw new UnauthenticatedError('the API token is not valid or was revoked', 'InvalidToken');
    });
    observation.console.mockResolvedValue({ hostName: 'h1', containerId: 'ctr_01jd8x6w3q0000000000000000' });
    rpc.tty.mockImplementation((_host, _id, _params, signal) => ({
      replies: workerReplies(signal),
      send: async (input: TtyInput) => void sent.push(input),
    }));
    sockets = new ExecSocketServer(auth, observation, rpc);
    server = createServer((_req, res) => res.writeHead(404).end());
    sockets.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    sockets.onApplicationShutdown();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Opens a socket (its frames collected from the first); answers it once open, or the refused upgrade's status and problem body. */
  function connect(path: string, options: { protocols?: string[]; headers?: Record<string, string> } = {}) {
    const ws = new WebSocket(`${base}${path}`, options.protocols ?? [], { headers: options.headers });
    const out = frames(ws);
    return new Promise<{ ws: WebSocket; out: ReturnType<typeof frames> } | { status: number; body: Record<string, unknown> }>((resolve, reject) => {
      ws.once('open', () => resolve({ ws, out }));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
      });
      ws.once('error', reject);
    });
  }

  function frames(ws: WebSocket) {
    const seen: Array<Record<string, unknown>> = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    ws.on('message', (raw) => seen.push(JSON.parse(String(raw))));
    const until = async (n: number) => {
      for (let i = 0; i < 100 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 20));
      return seen;
    };
    return { seen, closed, until };
  }

  it('relays the worker’s output and exit code, and the client’s keystrokes and resizes, with the token as a subprotocol', async () => {
    const opened = await connect('/v1/containers/web/exec/ws?cmd=sh&cmd=-l&cols=100&rows=30', { protocols: ['bearer.good'] });
    if (!('ws' in opened)) throw new Error(`refused with ${opened.status}`);
    const { ws, out } = opened;
    expect(ws.protocol).toBe('bearer.good');
    expect(auth.authenticate).toHaveBeenCalledWith('Bearer good');
    expect(observation.console).toHaveBeenCalledWith(TEAM_AUTH, 'web');
    expect(rpc.tty).toHaveBeenCalledWith('h1', 'ctr_01jd8x6w3q0000000000000000', { cmd: ['sh', '-l'], cols: 100, rows: 30 }, expect.any(AbortSignal));
    await expect(out.until(1)).resolves.toEqual([{ type: 'stdout', data: 'hello\r\n' }]);
    ws.send(JSON.stringify({ type: 'stdin', data: 'ls\n' }));
    ws.send(JSON.stringify({ type: 'resize', cols: 120, rows: 40 }));
    for (let i = 0; i < 100 && sent.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual([
      { t: 'in', d: 'ls\n' },
      { t: 'resize', cols: 120, rows: 40 },
    ]);
    release();
    await expect(out.until(2)).resolves.toEqual([
      { type: 'stdout', data: 'hello\r\n' },
      { type: 'exit', exitCode: 3 },
    ]);
    await expect(out.closed).resolves.toMatchObject({ code: 1000 });
    // The session is over: the worker is told to close it.
    for (let i = 0; i < 100 && sent.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(sent[2]).toEqual({ t: 'close' });
  });

  it('takes the token from the Authorization header too, with the console’s defaults', async () => {
    const opened = await connect('/v1/containers/web/exec/ws', { headers: { Authorization: 'Bearer good' } });
    expect('ws' in opened).toBe(true);
    expect(rpc.tty).toHaveBeenCalledWith('h1', expect.any(String), { cmd: ['sh'], cols: 80, rows: 24 }, expect.any(AbortSignal));
    if ('ws' in opened) opened.ws.close();
  });

  it('refuses a missing or unknown token with 401 problem+json, before looking at the container', async () => {
    await expect(connect('/v1/containers/web/exec/ws')).resolves.toMatchObject({ status: 401, body: { status: 401, reason: 'InvalidToken' } });
    await expect(connect('/v1/containers/web/exec/ws', { protocols: ['bearer.bad'] })).resolves.toMatchObject({ status: 401 });
    expect(observation.console).not.toHaveBeenCalled();
    expect(rpc.tty).not.toHaveBeenCalled();
  });

  it('refuses bad terminal parameters with a 400 naming the field', async () => {
    const cases: Array<[string, string]> = [
      ['cols=0', 'cols'],
      ['rows=1001', 'rows'],
      ['user=a%20b', 'user'],
      ['workingDir=relative', 'workingDir'],
    ];
    for (const [query, field] of cases) {
      const refused = await connect(`/v1/containers/web/exec/ws?${query}`, { protocols: ['bearer.good'] });
      expect(refused).toMatchObject({ status: 400, body: { status: 400, detail: expect.stringContaining(field) } });
    }
    expect(rpc.tty).not.toHaveBeenCalled();
  });

  it('answers what the container’s state allows: a stopped container is a 409', async () => {
    observation.console.mockRejectedValue(new FailedPreconditionError('container web is not running', 'ContainerNotRunning'));
    await expect(connect('/v1/containers/web/exec/ws', { protocols: ['bearer.good'] })).resolves.toMatchObject({
      status: 409,
      body: { reason: 'ContainerNotRunning', detail: 'container web is not running' },
    });
  });

  it('answers 404 for any other upgrade path', async () => {
    await expect(connect('/v1/containers/web/logs', { protocols: ['bearer.good'] })).resolves.toMatchObject({ status: 404 });
    expect(auth.authenticate).not.toHaveBeenCalled();
  });

  it('closes the socket on a frame that is not JSON, and stops the session', async () => {
    const opened = await connect('/v1/containers/web/exec/ws', { protocols: ['bearer.good'] });
    if (!('ws' in opened)) throw new Error(`refused with ${opened.status}`);
    opened.ws.send('not json');
    await expect(opened.out.closed).resolves.toMatchObject({ code: 1007 });
    for (let i = 0; i < 100 && !sent.length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(sent).toEqual([{ t: 'close' }]);
  });
});
