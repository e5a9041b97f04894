import { NetworksService } from '../networks/networks.service';
import { JobProducer } from '../operations/job-producer.service';
import { strictMock } from '../testing/strict-mock';
import { Dispatcher } from './dispatcher';

describe('Dispatcher', () => {
  const producer = strictMock<JobProducer>({ dispatchPending: jest.fn() });
  const networks = strictMock<NetworksService>({ flushSyncs: jest.fn() });
  let dispatcher: Dispatcher;

  beforeEach(() => {
    producer.dispatchPending.mockReset().mockResolvedValue(0);
    networks.flushSyncs.mockReset().mockResolvedValue(0);
    dispatcher = new Dispatcher(producer, networks);
  });

  it('a tick enqueues operations left queued, then flushes held-back network syncs', async () => {
    producer.dispatchPending.mockResolvedValue(2);
    await expect(dispatcher.tick()).resolves.toBeUndefined();
    expect(producer.dispatchPending).toHaveBeenCalledTimes(1);
    expect(networks.flushSyncs).toHaveBeenCalledTimes(1);
    expect(producer.dispatchPending.mock.invocationCallOrder[0]).toBeLessThan(networks.flushSyncs.mock.invocationCallOrder[0]);
  });

  it('a tick that fails (Redis still down) is logged, not thrown, and the next one runs', async () => {
    producer.dispatchPending.mockRejectedValueOnce(new Error('connect ECONNREFUSED'));
    await expect(dispatcher.tick()).resolves.toBeUndefined();
    expect(networks.flushSyncs).not.toHaveBeenCalled();
    await expect(dispatcher.tick()).resolves.toBeUndefined();
    expect(networks.flushSyncs).toHaveBeenCalledTimes(1);
  });

  it('a tick while another runs does nothing', async () => {
    let finish!: (n: number) => void;
    producer.dispatchPending.mockReturnValueOnce(new Promise<number>((resolve) => (finish = resolve)));
    const first = dispatcher.tick();
    await expect(dispatcher.tick()).resolves.toBeUndefined();
    expect(producer.dispatchPending).toHaveBeenCalledTimes(1);
    finish(0);
    await expect(first).resolves.toBeUndefined();
    expect(networks.flushSyncs).toHaveBeenCalledTimes(1);
  });
});
