import type { Response } from 'express';

/** A `202 Accepted` answer: the operation that carries the work out is at `Location`. */
export function accepted<T>(res: Response, operationId: string, body: T): T {
  res.setHeader('Location', `/v1/operations/${operationId}`);
  return body;
}
