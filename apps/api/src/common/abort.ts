import type { Request } from 'express';

/**
 * An AbortSignal that fires when the client goes away, for long-polls and streams.
 * The response's `close` is the one to watch: it fires when the connection ends
 * (or the answer is complete), while the request's may fire as soon as its body was read.
 */
export function clientGone(req: Request): AbortSignal {
  const controller = new AbortController();
  (req.res ?? req).once('close', () => controller.abort());
  return controller.signal;
}
