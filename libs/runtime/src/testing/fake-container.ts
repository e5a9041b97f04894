import { FailedPreconditionError, type ContainerSpec, type ContainerStats } from '@berth/domain';
import type { ResolvedImage } from '../container-runtime';
import type { OciProcess } from '../oci-process';
import type { UserDatabase } from '../oci-user';
import type { TimedLogLine } from '../shared/log-selection';
import type { ParsedSignal } from '../shared/signals';
import type { FakeProcess } from './fake-process';
import type { FakeRun } from './fake-run';

/** A container of the FakeRuntime, and the small rules about it. */

export const DEFAULT_USERS: UserDatabase = {
  passwd: 'root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000::/home/berth:/bin/sh\n',
  group: 'root:x:0:\nberth:x:1000:\n',
};

export interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  image: ResolvedImage;
  metadata: Record<string, unknown>;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  pid?: number;
  status: 'created' | 'running' | 'paused' | 'exited';
  stopSignal: ParsedSignal;
  process: Omit<FakeProcess, 'write' | 'killed' | 'onSignal'>;
  /** The OCI process, for exec. */
  oci: OciProcess;
  userName?: string;
  logs: TimedLogLine[];
  run?: FakeRun;
  /** Wakes log followers and waiters. */
  changed: Set<() => void>;
}

export function isLive(container: FakeContainer): boolean {
  return container.status === 'running' || container.status === 'paused';
}

export function notRunning(id: string): FailedPreconditionError {
  return new FailedPreconditionError(`container ${id} is not running`, 'ContainerNotRunning');
}

export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export function nextChange(container: FakeContainer, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      container.changed.delete(done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    container.changed.add(done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Made-up stats from the container's state and limits: 1 MiB of memory, 1 ms of CPU per second running. */
export function fakeStats(container: FakeContainer): ContainerStats {
  const live = isLive(container);
  const runningMs = live && container.startedAt ? Date.now() - Date.parse(container.startedAt) : 0;
  const usageNanos = Math.max(0, runningMs) * 1000; // 1 ms of CPU per second
  const systemNanos = Date.now() * 1e6;
  const resources = container.spec.resources ?? {};
  return {
    read: new Date().toISOString(),
    cpu: { usageNanos, systemNanos, onlineCpus: 1 },
    memory: {
      usageBytes: live ? 1024 * 1024 : 0,
      ...(resources.memoryBytes !== undefined ? { limitBytes: resources.memoryBytes } : {}),
    },
    pids: { current: live ? 1 : 0, ...(resources.pidsLimit !== undefined && resources.pidsLimit > 0 ? { limit: resources.pidsLimit } : {}) },
    blockIo: { readBytes: 0, writeBytes: 0 },
    ...(live ? { network: { rxBytes: 0, txBytes: 0 } } : {}),
  };
}
