import { Queue } from 'bullmq';
import { JobName, hostQueueName, redisOptionsFromUrl } from '@berth/domain';
import { pullImage } from '@berth/sdk';
import { TeamClient, api, env } from './support/api-client';
import { adminSdk, finished } from './support/sdk';

const admin = adminSdk();
/** Raw, with the admin token: the internal paths are not in the document (the client's check refuses them), and these tests check they answer nothing. */
const adminRaw = new TeamClient(env.adminToken);

/**
 * The host protocol at its edges: the one worker→API call left is the signed upload
 * link (logins travel sealed inside jobs), and a worker never acts on a job that
 * does not match the catalogue.
 */
describe('host protocol', () => {
  it('has no registry-login endpoint any more, with or without a team token', async () => {
    for (const path of ['/v1/internal/registry-logins/reg_01hzzzzzzzzzzzzzzzzzzzzzzz?expires=9999999999999&sig=x', '/v1/internal/registry-logins/anything']) {
      await api().get(path).expect(404); // raw: no auth header at all, on a path the document does not have
      await adminRaw.get(path).expect(404); // raw: a path the document does not have
    }
  });

  it('refuses an upload download with a team token but no valid signature', async () => {
    const id = 'upl_01hzzzzzzzzzzzzzzzzzzzzzzz';
    // Raw: the worker's upload link is not in the document, and a forged signature is the point.
    await adminRaw.get(`/v1/internal/uploads/${id}`).expect(404);
    await adminRaw.get(`/v1/internal/uploads/${id}?expires=${Date.now() + 60_000}&sig=forged`).expect(404);
  });

  it('fails a queued operation whose job is malformed, naming the field, without acting on it', async () => {
    const queue = new Queue(hostQueueName(env.hostName), { connection: { ...redisOptionsFromUrl(env.redisUrl), maxRetriesPerRequest: null } });
    try {
      // Held while the API enqueues, so the real job can be swapped for a malformed one under the same operation.
      await queue.pause();
      const res = await pullImage({ client: admin, body: { reference: 'docker.io/library/busybox:1.36', host: env.hostName } });
      expect(res.response.status).toBe(202);
      const operationId = res.data.operation.id;
      const real = await queue.getJob(operationId);
      expect(real?.name).toBe(JobName.ImagePull);
      const teamId = (real!.data as { teamId: string }).teamId;
      await real!.remove();
      await queue.add(JobName.ImagePull, { operationId, teamId, reference: '../../UPPER case' }, { jobId: operationId, attempts: 5 });
      await queue.resume();
      const op = await finished(admin, operationId, 60);
      expect(op.status).toBe('failed');
      expect(op.error).toEqual({
        class: 'InvalidArgument',
        reason: 'MalformedJob',
        message: expect.stringMatching(/^malformed image\.pull job: reference: must be an image reference/),
      });
      // Failed for good: a retry would leave it delayed or waiting.
      let state = await queue.getJobState(operationId);
      for (let i = 0; i < 50 && state !== 'failed'; i++) state = await new Promise((r) => setTimeout(r, 100)).then(() => queue.getJobState(operationId));
      expect(state).toBe('failed');
    } finally {
      await queue.resume().catch(() => undefined);
      await queue.close();
    }
  });
});
