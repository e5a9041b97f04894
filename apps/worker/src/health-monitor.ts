import type { ContainerHealth, Healthcheck, ObservedContainer } from '@berth/domain';
import type { ContainerInfo, ContainerRuntime } from '@berth/runtime';
import { observedFrom } from './reporter';

const OUTPUT_LIMIT = 4096;

interface Watched {
  healthcheck: Healthcheck;
  startedAtMs: number;
  health: ContainerHealth;
  timer?: NodeJS.Timeout;
}

/** The next verdict after one check, with Docker's rules. */
export function nextHealth(
  previous: ContainerHealth,
  check: { exitCode: number; output: string; at: Date },
  inStartPeriod: boolean,
  retries: number,
): ContainerHealth {
  const last = { lastOutput: check.output.slice(0, OUTPUT_LIMIT), lastExitCode: check.exitCode, lastCheckAt: check.at.toISOString() };
  if (check.exitCode === 0) return { status: 'healthy', failingStreak: 0, ...last };
  // Failures while the container is still starting up do not count (until a first success).
  if (inStartPeriod && previous.status === 'starting') return { ...previous, ...last };
  const failingStreak = previous.failingStreak + 1;
  return { status: failingStreak >= retries ? 'unhealthy' : previous.status, failingStreak, ...last };
}

/**
 * Runs each running container's health check on its interval (through exec) and
 * reports the verdict when it changes: starting, then healthy or unhealthy.
 */
export class HealthMonitor {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly report: (containerId: string, observed: ObservedContainer) => Promise<void>,
    private readonly onError: (err: unknown, containerId: string) => void = () => undefined,
  ) {}

  /** Starts checking a container that was just started (or found running), if it has a health check. */
  watch(info: ContainerInfo): void {
    const healthcheck = info.metadata.healthcheck as Healthcheck | undefined;
    if (!healthcheck || info.status !== 'running') return;
    this.unwatch(info.id);
    const entry: Watched = {
      healthcheck,
      startedAtMs: info.startedAt ? Date.parse(info.startedAt) : Date.now(),
      health: { status: 'starting', failingStreak: 0 },
    };
    this.watched.set(info.id, entry);
    this.publish(info, entry.health);
    this.schedule(info.id, entry);
  }

  unwatch(id: string): void {
    clearTimeout(this.watched.get(id)?.timer);
    this.watched.delete(id);
  }

  close(): void {
    for (const id of [...this.watched.keys()]) this.unwatch(id);
  }

  private schedule(id: string, entry: Watched): void {
    entry.timer = setTimeout(() => {
      this.check(id, entry).catch((err) => this.onError(err, id));
    }, entry.healthcheck.intervalMs);
  }

  private async check(id: string, entry: Watched): Promise<void> {
    if (this.watched.get(id) !== entry) return; // unwatched or watched anew meanwhile
    const info = await this.runtime.inspect(id).catch(() => undefined);
    if (!info || info.status === 'exited' || info.status === 'created') return this.unwatch(id);
    if (info.status === 'paused') return this.schedule(id, entry); // no checks while frozen
    const { healthcheck } = entry;
    const at = new Date();
    const result = await this.runtime
      .exec(id, { cmd: healthcheck.cmd, timeoutSec: Math.max(1, Math.ceil(healthcheck.timeoutMs / 1000)) })
      .catch((err: Error) => ({ exitCode: -1, stdout: '', stderr: err.message }));
    if (this.watched.get(id) !== entry) return;
    const inStartPeriod = Date.now() - entry.startedAtMs < healthcheck.startPeriodMs;
    const next = nextHealth(entry.health, { exitCode: result.exitCode, output: result.stdout + result.stderr, at }, inStartPeriod, healthcheck.retries);
    const changed = next.status !== entry.health.status || next.failingStreak !== entry.health.failingStreak;
    entry.health = next;
    if (changed) this.publish(info, next);
    this.schedule(id, entry);
  }

  private publish(info: ContainerInfo, health: ContainerHealth): void {
    this.report(info.id, { ...observedFrom(info), health }).catch((err) => this.onError(err, info.id));
  }
}
