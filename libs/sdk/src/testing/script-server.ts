import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a scripted server saw of one request. */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

/** The answer to the request numbered `index` (0-based). */
export type Step = (req: IncomingMessage, res: ServerResponse, index: number) => void | Promise<void>;

export interface ScriptServer {
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 that answers the n-th request with the n-th
 * step (or every request with the one step given), and 599 to any request past
 * the script, so a client that asks too often fails its test.
 */
export async function scriptServer(script: Step | Step[]): Promise<ScriptServer> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const index = requests.length;
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers });
    const step = Array.isArray(script) ? script[index] : script;
    if (!step) return void res.writeHead(599).end(`unscripted request ${index + 1}`);
    Promise.resolve(step(req, res, index)).catch((error: unknown) => res.destroy(error as Error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answers `body` as JSON (`application/problem+json` for a status of 400 and above). */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Step {
  return (_req, res) => {
    const type = status >= 400 ? 'application/problem+json' : 'application/json';
    res.writeHead(status, { 'Content-Type': type, ...headers }).end(JSON.stringify(body));
  };
}

/** Writes each part as a chunk of its own (each flushed, a few ms apart), then ends the response, destroys the socket (`cut`), or leaves it open (`hold`). */
export function chunks(contentType: string, parts: string[], end: 'end' | 'cut' | 'hold' = 'end'): Step {
  return async (_req, res) => {
    res.writeHead(200, { 'Content-Type': contentType });
    res.flushHeaders();
    for (const part of parts) {
      await new Promise((resolve) => res.write(part, resolve));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    if (end === 'end') res.end();
    else if (end === 'cut') res.socket?.destroy();
  };
}
