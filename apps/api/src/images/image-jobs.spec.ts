import { DataSource } from 'typeorm';
import { Host, JobName, Team, jobFor } from '@berth/domain';
import { Transactions } from '../database/transactions';
import { JobProducer } from '../operations/job-producer.service';
import { OperationsService, newOperation } from '../operations/operations.service';
import { strictMock } from '../testing/strict-mock';
import { createTestDatabase, seedHost, seedTeam } from '../testing/test-database';
import { ImageJobs } from './image-jobs';

describe('ImageJobs', () => {
  let db: DataSource;
  let tx: Transactions;
  let team: Team;
  let host: Host;
  const operations = strictMock<OperationsService>({ insert: jest.fn() });
  const producer = strictMock<JobProducer>({ enqueue: jest.fn() });

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    team = await seedTeam(db, 'a');
    host = await seedHost(db, team, 'h1');
    jest.resetAllMocks();
  });
  afterEach(() => db.destroy());

  it('writes the operation in a transaction, then enqueues it, with the job built for its id', async () => {
    let inTransaction = false;
    operations.insert.mockImplementation(async (input) => {
      inTransaction = tx.inTransaction;
      return newOperation(input);
    });
    producer.enqueue.mockResolvedValue(true);
    const jobs = new ImageJobs(operations, producer, tx);
    const op = await jobs.enqueue({ teamId: team.id }, host, 'image.remove', 'x'.repeat(100), (operationId) =>
      jobFor(JobName.ImageRemove, host.name, { operationId, teamId: team.id, at: '2026-12-01T00:00:00Z', digests: [] }),
    );
    expect(inTransaction).toBe(true);
    expect(operations.insert).toHaveBeenCalledWith({
      id: op.id,
      teamId: team.id,
      kind: 'image.remove',
      targetKind: 'image',
      targetId: 'x'.repeat(80),
      hostId: host.id,
      job: expect.objectContaining({ name: JobName.ImageRemove, payload: expect.objectContaining({ operationId: op.id }) }),
    });
    expect(producer.enqueue).toHaveBeenCalledWith(op);
  });

  it('enqueues nothing when the operation cannot be written', async () => {
    operations.insert.mockRejectedValue(new Error('database gone'));
    const jobs = new ImageJobs(operations, producer, tx);
    await expect(
      jobs.enqueue({ teamId: team.id }, host, 'image.pull', 'busybox', (operationId) =>
        jobFor(JobName.ImagePull, host.name, { operationId, teamId: team.id, reference: 'busybox' }),
      ),
    ).rejects.toThrow('database gone');
    expect(producer.enqueue).not.toHaveBeenCalled();
  });
});
