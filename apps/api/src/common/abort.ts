import type { Request } from 'express';

/** An AbortSignal that fires when the client goes away, for long-polls and streams. */
export function clientGone(req: Request): AbortSignal {
  const controller = new AbortController();
  req.on('close', () => controller.abort());
  return controller.signal;
}
