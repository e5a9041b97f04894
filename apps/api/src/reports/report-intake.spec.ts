import { UnrecoverableError } from 'bullmq';
import { newId } from '@berth/domain';
import { checkedReport } from './report-intake';

describe('checkedReport (the reports queue entry)', () => {
  it('refuses a malformed report, logging what was wrong, so it is neither applied nor retried', () => {
    const errors: string[] = [];
    const report = { kind: 'operation', operationId: newId('operation'), status: 'succeeded', result: 'not an object', at: new Date().toISOString() };
    let thrown: unknown;
    try {
      checkedReport({ id: '7', name: 'operation', data: report }, { error: (m) => void errors.push(m) });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UnrecoverableError);
    expect((thrown as Error).message).toMatch(/^malformed operation report: result: /);
    expect(errors).toEqual([expect.stringMatching(/^report 7 \(operation\) refused: malformed operation report: result: /)]);
  });

  it('refuses a container report for an id that is not a container, and a heartbeat with a bad sealing key', () => {
    const at = new Date().toISOString();
    const log = { error: () => undefined };
    expect(() =>
      checkedReport(
        { id: '8', name: 'container', data: { kind: 'container', hostName: 'h1', containerId: 'host_x', seq: 1, observed: { status: 'running' }, at } },
        log,
      ),
    ).toThrow(/containerId: must be a ctr_ id/);
    const host = {
      name: 'h1',
      cpus: 1,
      memoryBytes: 1,
      kernel: 'k',
      os: 'linux',
      arch: 'amd64',
      runtime: 'runc',
      runcVersion: '1',
      conmonVersion: '2',
      cgroupVersion: 2,
      workerVersion: '0',
      startedAt: at,
    };
    expect(() => checkedReport({ id: '9', name: 'host.heartbeat', data: { kind: 'host.heartbeat', host: { ...host, sealingKey: 'short' }, at } }, log)).toThrow(
      /host.sealingKey: must be 32 bytes/,
    );
    expect(checkedReport({ id: '10', name: 'host.heartbeat', data: { kind: 'host.heartbeat', host, at } }, log)).toEqual({ kind: 'host.heartbeat', host, at });
  });
});
