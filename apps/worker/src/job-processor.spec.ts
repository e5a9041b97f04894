import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { JOB_NAMES, JobName, UnavailableError, newId, type SerializedError } from '@berth/domain';
import { JobHandlers, JobProcessor } from './job-processor';

const operationId = newId('operation');
const teamId = newId('team');
const containerId = newId('container');

function setup() {
  const calls: Array<[string, unknown]> = [];
  const reports: Array<{ operationId: string; status: string; error?: SerializedError; result?: Record<string, unknown> }> = [];
  const handlers = Object.fromEntries(
    JOB_NAMES.map((name) => [
      name,
      async (payload: unknown) => {
        calls.push([name, payload]);
        return { ok: true };
      },
    ]),
  ) as unknown as JobHandlers;
  const reporter = {
    operation: async (id: string, status: 'running' | 'succeeded' | 'failed', error?: SerializedError, result?: Record<string, unknown>) =>
      void reports.push({ operationId: id, status, ...(error ? { error } : {}), ...(result ? { result } : {}) }),
  };
  const log = { warn: () => undefined } as unknown as Logger;
  return { processor: new JobProcessor(handlers, reporter, log), handlers, calls, reports };
}

const job = (name: string, data: unknown, attemptsMade = 0) => ({ name, data, id: 'job-1', attemptsMade, opts: { attempts: 5 } }) as unknown as Job;

describe('JobProcessor', () => {
  it('runs a well-formed job with the checked payload and reports running, then succeeded', async () => {
    const { processor, calls, reports } = setup();
    await processor.process(job(JobName.ContainerPause, { operationId, teamId, containerId, extra: 'dropped' }));
    expect(calls).toEqual([[JobName.ContainerPause, { operationId, teamId, containerId }]]);
    expect(reports).toEqual([
      { operationId, status: 'running' },
      { operationId, status: 'succeeded', result: { ok: true } },
    ]);
  });

  it('refuses a malformed job: the operation is reported failed naming the field, no handler runs, and it is not retried', async () => {
    const { processor, calls, reports } = setup();
    const spec = { name: '../etc', image: 'docker.io/library/busybox:latest', env: [], labels: {} };
    const data = { operationId, teamId, containerId, generation: 1, desired: 'running', spec, stopTimeoutSec: 10 };
    const outcome = processor.process(job(JobName.ContainerConverge, data));
    await expect(outcome).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(outcome).rejects.toThrow(/^malformed container.converge job: spec.name: /);
    expect(calls).toEqual([]);
    expect(reports).toEqual([
      {
        operationId,
        status: 'failed',
        error: {
          class: 'InvalidArgument',
          reason: 'MalformedJob',
          message: expect.stringMatching(/^malformed container.converge job: spec.name: must be a container name/),
        },
      },
    ]);
  });

  it('reports nothing for a malformed job whose operation id is not one (nothing truthful to record)', async () => {
    const { processor, calls, reports } = setup();
    await expect(processor.process(job(JobName.ContainerPause, { operationId: 'op_../x', teamId, containerId }))).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(processor.process(job(JobName.NetworkSync, { networkId: 'net_x' }))).rejects.toThrow(/malformed network.sync job: networkId/);
    expect(calls).toEqual([]);
    expect(reports).toEqual([]);
  });

  it('refuses a job of no known name without running anything', async () => {
    const { processor, calls, reports } = setup();
    await expect(processor.process(job('container.explode', { operationId }))).rejects.toBeInstanceOf(UnrecoverableError);
    expect(calls).toEqual([]);
    expect(reports).toEqual([]);
  });

  it('retries Unavailable errors and fails the operation on any other', async () => {
    const { processor, handlers, reports } = setup();
    handlers[JobName.ContainerUnpause] = async () => {
      throw new UnavailableError('runtime busy');
    };
    await expect(processor.process(job(JobName.ContainerUnpause, { operationId, teamId, containerId }))).rejects.toBeInstanceOf(UnavailableError);
    expect(reports).toEqual([{ operationId, status: 'running' }]);
    handlers[JobName.ContainerUnpause] = async () => {
      throw new Error('boom');
    };
    await expect(processor.process(job(JobName.ContainerUnpause, { operationId, teamId, containerId }, 1))).rejects.toBeInstanceOf(UnrecoverableError);
    expect(reports[1]).toMatchObject({ operationId, status: 'failed', error: { class: 'Internal', message: 'boom' } });
  });

  it('refuses to start without a handler for every job', () => {
    const { handlers } = setup();
    const { [JobName.ImagePush]: _push, ...partial } = handlers;
    expect(() => new JobProcessor(partial as JobHandlers, { operation: async () => undefined }, {} as Logger)).toThrow(/no handler for job\(s\): image.push/);
  });
});
