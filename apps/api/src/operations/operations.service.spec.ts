import { DataSource } from 'typeorm';
import { JobName, NotFoundError, Team, jobFor } from '@berth/domain';
import { Transactions } from '../database/transactions';
import { EventBus } from '../events/event-bus.service';
import { strictMock } from '../testing/strict-mock';
import { createTestDatabase, seedTeam } from '../testing/test-database';
import { OperationsRepository } from './operations.repository';
import { NewOperation, OperationsService } from './operations.service';

describe('OperationsService (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let teamA: Team;
  let teamB: Team;
  let service: OperationsService;
  const events = strictMock<EventBus>({ waitFor: jest.fn() });

  const input = (team: Team): NewOperation => ({
    teamId: team.id,
    kind: 'container.kill',
    targetKind: 'container',
    targetId: 'ctr_01jd8x6w3q0000000000000000',
    hostId: 'host_01jd8x6w3q0000000000000000',
    job: jobFor(JobName.ContainerSignal, 'h1', { operationId: 'op_1', teamId: team.id, containerId: 'ctr_1', signal: 'SIGTERM' }),
  });

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    [teamA, teamB] = [await seedTeam(db, 'a'), await seedTeam(db, 'b')];
    service = new OperationsService(new OperationsRepository(tx), events);
    events.waitFor.mockReset();
  });
  afterEach(() => db.destroy());

  it('insert writes a queued operation that its team can get', async () => {
    const op = await service.insert(input(teamA));
    expect(op).toMatchObject({ status: 'queued', enqueuedAt: null, teamId: teamA.id });
    await expect(service.get({ teamId: teamA.id }, op.id)).resolves.toMatchObject({ id: op.id, kind: 'container.kill', job: input(teamA).job });
  });

  it('insert inside a transaction that fails leaves nothing', async () => {
    let id = '';
    const failing = tx.run(async () => {
      id = (await service.insert(input(teamA))).id;
      throw new Error('the desired state could not be written');
    });
    await expect(failing).rejects.toThrow('desired state');
    await expect(service.get({ teamId: teamA.id }, id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('another team’s operation is not found', async () => {
    const op = await service.insert(input(teamA));
    await expect(service.get({ teamId: teamB.id }, op.id)).rejects.toMatchObject({ reason: 'OperationNotFound' });
  });

  it('a scope without a team is refused, never read as every team', async () => {
    const op = await service.insert(input(teamA));
    await expect(service.get({ teamId: undefined as unknown as string }, op.id)).rejects.toThrow('no team');
  });

  it('wait answers the finished operation as soon as the event bus sees it finish', async () => {
    const op = await service.insert(input(teamA));
    await db.getRepository('Operation').update({ id: op.id }, { status: 'succeeded', finishedAt: new Date() });
    events.waitFor.mockImplementation(async (_id, evaluate) => evaluate());
    await expect(service.wait({ teamId: teamA.id }, op.id, 5)).resolves.toMatchObject({ id: op.id, status: 'succeeded' });
    expect(events.waitFor).toHaveBeenCalledWith(op.id, expect.any(Function), 5000, undefined);
  });

  it('wait answers the operation as it stands when the time runs out', async () => {
    const op = await service.insert(input(teamA));
    events.waitFor.mockResolvedValue(undefined);
    await expect(service.wait({ teamId: teamA.id }, op.id, 1)).resolves.toMatchObject({ id: op.id, status: 'queued' });
  });
});
