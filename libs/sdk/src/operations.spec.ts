import { createBerthClient } from './client';
import type { Operation } from './generated/types.gen';
import { BerthOperationFailed, BerthOperationTimeout, isBerthOperationFailed, waitForOperation } from './operations';
import { BerthProblem } from './problem';
import { json, type ScriptServer, scriptServer } from './testing/script-server';

const operation = (status: Operation['status'], extra: Partial<Operation> = {}): Operation => ({
  id: 'op-1',
  kind: 'container.create',
  status,
  hostId: 'host-1',
  targetId: 'ctr-1',
  targetKind: 'container',
  createdAt: '2026-01-01T00:00:00.000Z',
  startedAt: status === 'queued' ? null : '2026-01-01T00:00:01.000Z',
  finishedAt: status === 'succeeded' || status === 'failed' ? '2026-01-01T00:00:02.000Z' : null,
  ...extra,
});

describe('waitForOperation', () => {
  let server: ScriptServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const clientOf = (s: ScriptServer) => createBerthClient({ baseUrl: s.baseUrl, token: 'berth_test' });

  it('long-polls until the operation succeeds and answers it', async () => {
    server = await scriptServer([json(200, operation('running')), json(200, operation('running')), json(200, operation('succeeded', { result: { ok: 1 } }))]);
    const done = await waitForOperation(clientOf(server), 'op-1');
    expect(done.status).toBe('succeeded');
    expect(done.result).toEqual({ ok: 1 });
    expect(server.requests).toHaveLength(3);
    for (const request of server.requests) {
      expect(request.path).toBe('/v1/operations/op-1/wait');
      expect(request.query.get('timeout')).toBe('30');
      expect(request.headers.authorization).toBe('Bearer berth_test');
    }
  });

  it('takes the 202 answer of a change, and asks no round longer than what is left before the deadline', async () => {
    server = await scriptServer([json(200, operation('succeeded'))]);
    const accepted = { container: { id: 'ctr-1' }, operation: operation('queued') } as unknown as { operation: Operation };
    const done = await waitForOperation(clientOf(server), accepted, { timeoutMs: 2_500, roundSeconds: 120 });
    expect(done.id).toBe('op-1');
    expect(server.requests.map((r) => r.query.get('timeout'))).toEqual(['3']);
  });

  it('throws BerthOperationFailed with the error the operation recorded', async () => {
    const error = { class: 'NotFound', reason: 'ImageNotFound', message: 'no such image: nope:latest' };
    server = await scriptServer([json(200, operation('running')), json(200, operation('failed', { error }))]);
    const failure = await waitForOperation(clientOf(server), 'op-1').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(BerthOperationFailed);
    const failed = failure as BerthOperationFailed;
    expect(failed.reason).toBe('ImageNotFound');
    expect(failed.errorClass).toBe('NotFound');
    expect(failed.error).toEqual(error);
    expect(failed.operation.status).toBe('failed');
    expect(failed.message).toBe('operation op-1 (container.create) failed: ImageNotFound: no such image: nope:latest');
    expect(isBerthOperationFailed(failure, 'ImageNotFound')).toBe(true);
    expect(isBerthOperationFailed(failure, 'HostUnavailable')).toBe(false);
  });

  it('answers the failed operation when throwOnFailure is false', async () => {
    server = await scriptServer([json(200, operation('failed', { error: { class: 'Internal', reason: 'RuntimeError', message: 'runc died' } }))]);
    const failed = await waitForOperation(clientOf(server), 'op-1', { throwOnFailure: false });
    expect(failed.status).toBe('failed');
    expect(failed.error?.reason).toBe('RuntimeError');
  });

  it('settles an operation that has already finished without a request', async () => {
    server = await scriptServer([]);
    const done = await waitForOperation(clientOf(server), operation('succeeded'));
    expect(done.status).toBe('succeeded');
    await expect(waitForOperation(clientOf(server), operation('failed'))).rejects.toBeInstanceOf(BerthOperationFailed);
    expect(server.requests).toHaveLength(0);
  });

  it('throws BerthOperationTimeout at the deadline, cancelling a long-poll the server holds', async () => {
    server = await scriptServer([json(200, operation('running')), () => undefined]);
    const started = Date.now();
    const failure = await waitForOperation(clientOf(server), 'op-1', { timeoutMs: 150 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(failure).toBeInstanceOf(BerthOperationTimeout);
    const timeout = failure as BerthOperationTimeout;
    expect(timeout.operationId).toBe('op-1');
    expect(timeout.operation?.status).toBe('running');
    expect(timeout.message).toBe('operation op-1 did not finish within 150 ms (still running)');
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2_000);
    expect(server.requests).toHaveLength(2);
  });

  it('throws the abort when the caller’s signal fires, not a timeout', async () => {
    server = await scriptServer([() => undefined]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const failure = await waitForOperation(clientOf(server), 'op-1', { signal: controller.signal, timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(failure).not.toBeInstanceOf(BerthOperationTimeout);
    expect((failure as Error).name).toBe('AbortError');
  });

  it('throws the BerthProblem of an error answer', async () => {
    server = await scriptServer([
      json(404, { type: 'about:blank', status: 404, title: 'Not Found', detail: 'no operation op-9', reason: 'OperationNotFound', class: 'NotFound' }),
    ]);
    const failure = await waitForOperation(clientOf(server), 'op-9').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(BerthProblem);
    expect((failure as BerthProblem).status).toBe(404);
    expect((failure as BerthProblem).reason).toBe('OperationNotFound');
  });
});
