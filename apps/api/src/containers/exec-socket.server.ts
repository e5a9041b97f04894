import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { WebSocket, WebSocketServer } from 'ws';
import { DomainError, InvalidArgumentError, TtyRequest, serializeError } from '@berth/domain';
import { STATUS_BY_CLASS, TITLE_BY_STATUS, problemType } from '../common/problem';
import { WorkerRpc } from '../rpc/worker-rpc.service';
import { AuthService } from '../teams/auth.service';
import { ContainersObservationService } from './containers-observation.service';

const PATH = /^\/v1\/containers\/([^/]+)\/exec\/ws$/;
const SUBPROTOCOL_PREFIX = 'bearer.';

/**
 * The interactive console: `GET /v1/containers/{id}/exec/ws` upgraded to a WebSocket.
 * Query: `cmd` (repeat for each argument; `sh` when absent), `user`, `workingDir`,
 * `cols`, `rows`. Auth: `Authorization: Bearer …`, or for browsers the subprotocol
 * `bearer.<token>`. Client frames: `{"type":"stdin","data":"…"}`,
 * `{"type":"resize","cols":120,"rows":40}`. Server frames: `{"type":"stdout","data":"…"}`,
 * then `{"type":"exit","exitCode":0}` (or `{"type":"error","problem":{…}}`).
 */
@Injectable()
export class ExecSocketServer implements OnApplicationShutdown {
  private readonly logger = new Logger('ExecSocket');
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1024 * 1024,
    handleProtocols: (protocols) => [...protocols].find((p) => p.startsWith(SUBPROTOCOL_PREFIX)) ?? false,
  });

  constructor(
    private readonly auth: AuthService,
    private readonly observation: ContainersObservationService,
    private readonly rpc: WorkerRpc,
  ) {}

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://berth');
      const match = PATH.exec(url.pathname);
      if (!match) return refuse(socket, 404, 'no WebSocket here');
      this.open(req, socket, head, match[1], url.searchParams).catch((err) => {
        const status = err instanceof DomainError ? STATUS_BY_CLASS[err.errorClass] : 500;
        if (status >= 500) this.logger.error(`exec socket: ${(err as Error).stack ?? err}`);
        refuse(socket, status, err instanceof DomainError ? err.message : 'an internal error occurred', err instanceof DomainError ? err.reason : undefined);
      });
    });
  }

  private async open(req: IncomingMessage, socket: Duplex, head: Buffer, idOrName: string, query: URLSearchParams): Promise<void> {
    const auth = await this.auth.authenticate(bearerHeader(req));
    const params = ttyParams(query);
    const target = await this.observation.console(auth, idOrName);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.relay(ws, target.hostName, target.containerId, params));
  }

  private relay(ws: WebSocket, hostName: string, containerId: string, params: TtyRequest['params']): void {
    const abort = new AbortController();
    const { replies, send } = this.rpc.tty(hostName, containerId, params, abort.signal);
    ws.on('message', (raw) => {
      let message: { type?: string; data?: unknown; cols?: unknown; rows?: unknown };
      try {
        message = JSON.parse(String(raw));
      } catch {
        return ws.close(1007, 'frames are JSON');
      }
      if (message.type === 'stdin' && typeof message.data === 'string') void send({ t: 'in', d: message.data });
      else if (message.type === 'resize' && isSize(message.cols) && isSize(message.rows)) void send({ t: 'resize', cols: message.cols, rows: message.rows });
      else ws.close(1003, 'expected {"type":"stdin","data":…} or {"type":"resize","cols":…,"rows":…}');
    });
    ws.on('close', () => {
      void send({ t: 'close' }).catch(() => undefined);
      abort.abort();
    });
    void (async () => {
      try {
        for await (const reply of replies) {
          if (reply.t === 'data') ws.send(JSON.stringify({ type: 'stdout', data: reply.d }));
          else if (reply.t === 'end') ws.send(JSON.stringify({ type: 'exit', exitCode: Number(reply.c) }));
        }
        ws.close(1000);
      } catch (err) {
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(JSON.stringify({ type: 'error', problem: serializeError(err) }));
          ws.close(1011);
        }
      }
    })();
  }

  onApplicationShutdown(): void {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }
}

function bearerHeader(req: IncomingMessage): string | undefined {
  if (req.headers.authorization) return req.headers.authorization;
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .find((p) => p.startsWith(SUBPROTOCOL_PREFIX));
  return offered ? `Bearer ${offered.slice(SUBPROTOCOL_PREFIX.length)}` : undefined;
}

function isSize(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1000;
}

function ttyParams(query: URLSearchParams): TtyRequest['params'] {
  const fail = (field: string, message: string) => new InvalidArgumentError(`${field} ${message}`, [{ field, message }], 'ValidationFailed');
  const cmd = query.getAll('cmd');
  const size = (field: 'cols' | 'rows', fallback: number) => {
    const raw = query.get(field);
    const n = raw === null ? fallback : Number(raw);
    if (!isSize(n)) throw fail(field, 'must be an integer from 1 to 1000');
    return n;
  };
  const user = query.get('user') ?? undefined;
  if (user !== undefined && !/^[a-zA-Z0-9_.-]+(:[a-zA-Z0-9_.-]+)?$/.test(user)) throw fail('user', 'must be user, uid, user:group or uid:gid');
  const workingDir = query.get('workingDir') ?? undefined;
  if (workingDir !== undefined && !workingDir.startsWith('/')) throw fail('workingDir', 'must be an absolute path');
  return { cmd: cmd.length ? cmd : ['sh'], user, workingDir, cols: size('cols', 80), rows: size('rows', 24) };
}

/** Answers an upgrade we will not take with a plain HTTP problem+json response. */
function refuse(socket: Duplex, status: number, detail: string, reason?: string): void {
  const body = JSON.stringify({ type: problemType(status), title: TITLE_BY_STATUS[status] ?? 'Error', status, detail, ...(reason ? { reason } : {}) });
  socket.end(
    `HTTP/1.1 ${status} ${TITLE_BY_STATUS[status] ?? 'Error'}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
