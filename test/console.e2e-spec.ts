import { WebSocket } from 'ws';
import { createTeam, deleteContainer, waitContainer } from '@berth/sdk';
import { env, uniqueName } from './support/api-client';
import { adminSdk, loadImageTar, runContainer } from './support/sdk';

const admin = adminSdk();

interface Frame {
  type: string;
  data?: string;
  exitCode?: number;
}

/** Opens the console WebSocket and collects what it sends until it closes (raw: a WebSocket, which the SDK does not speak). */
function openConsole(containerId: string, query: string, options: { token?: string; subprotocol?: boolean } = {}) {
  const url = `${env.url.replace(/^http/, 'ws')}/v1/containers/${containerId}/exec/ws${query}`;
  const token = options.token ?? env.adminToken;
  const ws = options.subprotocol ? new WebSocket(url, [`bearer.${token}`]) : new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
  const frames: Frame[] = [];
  const output = () =>
    frames
      .filter((f) => f.type === 'stdout')
      .map((f) => f.data)
      .join('');
  ws.on('message', (raw) => frames.push(JSON.parse(String(raw)) as Frame));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  return {
    ws,
    frames,
    opened,
    closed,
    send: (frame: object) => ws.send(JSON.stringify(frame)),
    async waitFor(text: string, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!output().includes(text)) {
        if (Date.now() > deadline) throw new Error(`no "${text}" in ${JSON.stringify(output())}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

describe('the interactive console (TTY exec over WebSocket)', () => {
  let id: string;

  beforeAll(async () => {
    expect((await loadImageTar(admin, env.busyboxOciTar)).status).toBe('succeeded');
    id = (await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'], name: uniqueName('console') })).id;
  });

  afterAll(async () => {
    expect((await deleteContainer({ client: admin, path: { id }, query: { force: true } })).response.status).toBe(202);
  });

  it('echoes what it is sent, follows a resize and ends with the exit code', async () => {
    const console = openConsole(id, '?cmd=sh&cols=100&rows=30');
    await console.opened;
    console.send({ type: 'stdin', data: 'stty size; echo sum-$((40+2))\r' });
    await console.waitFor('30 100');
    await console.waitFor('sum-42');
    console.send({ type: 'resize', cols: 132, rows: 43 });
    await new Promise((r) => setTimeout(r, 300));
    console.send({ type: 'stdin', data: 'stty size\r' });
    await console.waitFor('43 132');
    console.send({ type: 'stdin', data: 'exit 4\r' });
    expect(await console.closed).toBe(1000);
    expect(console.frames[console.frames.length - 1]).toEqual({ type: 'exit', exitCode: 4 });
  });

  it('takes the token as a subprotocol, as browsers must', async () => {
    const console = openConsole(id, '?cmd=sh&cmd=-c&cmd=echo%20from-browser', { subprotocol: true });
    await console.opened;
    expect(console.ws.protocol).toBe(`bearer.${env.adminToken}`);
    expect(await console.closed).toBe(1000);
    expect(console.frames.map((f) => f.data ?? '').join('')).toContain('from-browser');
  });

  it('refuses without a token, for another team, and for a stopped container', async () => {
    await expect(openConsole(id, '', { token: 'berth_nope' }).opened).rejects.toThrow('HTTP 401');
    const other = await createTeam({ client: admin, body: { name: uniqueName('console').toLowerCase() } });
    expect(other.response.status).toBe(201);
    await expect(openConsole(id, '', { token: other.data.token }).opened).rejects.toThrow('HTTP 404');
    await expect(openConsole(id, '?cols=0').opened).rejects.toThrow('HTTP 400');
    const stopped = (await runContainer(admin, { image: 'busybox', cmd: ['true'] })).id;
    await waitContainer({ client: admin, path: { id: stopped }, query: { condition: 'exited', timeout: 60 } });
    await expect(openConsole(stopped, '').opened).rejects.toThrow('HTTP 409');
  });
});
