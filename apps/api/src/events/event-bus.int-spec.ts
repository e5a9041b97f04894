import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { EVENTS_CHANNEL, newId } from '@berth/domain';
import { RedisConnections } from '../common/redis';
import type { ApiConfig } from '../config';
import { BerthEvent, EventBus } from './event-bus.service';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../../../scripts/lib/stack.cjs');

/** Rejects after `ms`, so a wait that never ends fails the test instead of hanging it. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Resolves with the first event of the team on `bus` that `match` accepts. */
function nextEvent(bus: EventBus, teamId: string, match: (e: BerthEvent) => boolean): Promise<BerthEvent> {
  return new Promise((resolve) => {
    const off = bus.subscribeTeam(teamId, (e) => {
      if (!match(e)) return;
      off();
      resolve(e);
    });
  });
}

/** Two API replicas, each with its own connections and bus, sharing one real Redis. */
describe('EventBus across two replicas (real Redis)', () => {
  const dir = mkdtempSync('/var/tmp/berth-events-');
  let redis: { child: { kill(): void }; url: string };
  let connections: RedisConnections[] = [];
  let a: EventBus;
  let b: EventBus;
  const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);

  beforeAll(async () => {
    redis = await stack.startRedis({ dir: join(dir, 'redis'), logFile: join(dir, 'redis.log') });
    connections = [0, 1].map(() => new RedisConnections({ redisUrl: redis.url } as ApiConfig));
    [a, b] = connections.map((c) => new EventBus(c));
    await a.onModuleInit();
    await b.onModuleInit();
  });

  afterAll(async () => {
    await a?.onApplicationShutdown();
    await b?.onApplicationShutdown();
    for (const c of connections) await c.onApplicationShutdown();
    await stack.stopProcess(redis?.child);
    rmSync(dir, { recursive: true, force: true });
    warn.mockRestore();
  });

  beforeEach(() => warn.mockClear());

  it("wakes the other replica's waitFor when an event about its id is published", async () => {
    const id = newId('container');
    const state: { value?: string } = {};
    const checks: (string | undefined)[] = [];
    const check = async () => {
      checks.push(state.value);
      return state.value;
    };
    const started = Date.now();
    const waiting = b.waitFor(id, check, 10_000);
    // Let the first check run and find nothing, then change the state and tell the other replica.
    await new Promise((r) => setTimeout(r, 100));
    expect(checks).toEqual([undefined]);
    state.value = 'running';
    await a.publish({ type: 'container.running', id, teamId: 't1' });
    await expect(within(5000, 'waitFor', waiting)).resolves.toBe('running');
    // Woken by the event, well before the 2 s safety re-check or the timeout.
    expect(Date.now() - started).toBeLessThan(1500);
    expect(checks).toEqual([undefined, 'running']);
  });

  it('answers at once when the first check already has the value, without waiting for an event', async () => {
    const started = Date.now();
    await expect(
      within(
        2000,
        'waitFor',
        a.waitFor(newId('container'), async () => 'done', 10_000),
      ),
    ).resolves.toBe('done');
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('ignores events about other ids: the wait answers at its timeout with undefined', async () => {
    const id = newId('container');
    let calls = 0;
    const started = Date.now();
    const waiting = b.waitFor(
      id,
      async () => {
        calls++;
        return undefined;
      },
      400,
    );
    await a.publish({ type: 'container.running', id: newId('container'), teamId: 't1' });
    await expect(within(3000, 'waitFor', waiting)).resolves.toBeUndefined();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(1500);
    // Only the first check: the other id's event did not re-check.
    expect(calls).toBe(1);
  });

  it("delivers a team's events to its subscribers on both replicas, and never another team's", async () => {
    const teamA = newId('team');
    const teamB = newId('team');
    const seen: Record<string, string[]> = { aOnA: [], aOnB: [], bOnB: [] };
    const offs = [
      a.subscribeTeam(teamA, (e) => seen.aOnA.push(e.id)),
      b.subscribeTeam(teamA, (e) => seen.aOnB.push(e.id)),
      b.subscribeTeam(teamB, (e) => seen.bOnB.push(e.id)),
    ];
    try {
      const last = [nextEvent(a, teamA, (e) => e.id === 'a2'), nextEvent(b, teamA, (e) => e.id === 'a2')];
      await a.publish({ type: 'container.running', id: 'a1', teamId: teamA, attributes: { n: 1 } });
      await b.publish({ type: 'container.running', id: 'b1', teamId: teamB });
      await a.publish({ type: 'container.exited', id: 'a2', teamId: teamA });
      // Pub/sub keeps one publisher's order: once a2 is in, a1 and b1 have been delivered too.
      const [onA, onB] = await within(5000, 'team events', Promise.all(last));
      expect(onA).toMatchObject({ type: 'container.exited', id: 'a2', teamId: teamA });
      expect(new Date(onB.at).getTime()).not.toBeNaN();
      expect(seen).toEqual({ aOnA: ['a1', 'a2'], aOnB: ['a1', 'a2'], bOnB: ['b1'] });
    } finally {
      for (const off of offs) off();
    }
  });

  it('stops delivering to a listener once it unsubscribes', async () => {
    const team = newId('team');
    const seen: string[] = [];
    const off = b.subscribeTeam(team, (e) => seen.push(e.id));
    const first = nextEvent(b, team, (e) => e.id === 'one');
    await a.publish({ type: 'container.running', id: 'one', teamId: team });
    await within(5000, 'first event', first);
    off();
    const second = nextEvent(b, team, (e) => e.id === 'two');
    await a.publish({ type: 'container.running', id: 'two', teamId: team });
    await within(5000, 'second event', second);
    expect(seen).toEqual(['one']);
  });

  it('ends an aborted wait with undefined, long before its timeout', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const waiting = b.waitFor(newId('container'), async () => undefined, 10_000, controller.signal);
    setTimeout(() => controller.abort(), 100);
    await expect(within(3000, 'aborted waitFor', waiting)).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('ends a wait whose signal fires while its first check is still running', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const waiting = b.waitFor(
      newId('container'),
      async () => {
        // The caller hangs up while the first read is in flight.
        controller.abort();
        return undefined;
      },
      10_000,
      controller.signal,
    );
    await expect(within(3000, 'aborted waitFor', waiting)).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('rejects the wait when a re-check fails', async () => {
    const id = newId('operation');
    let calls = 0;
    const waiting = b.waitFor(
      id,
      async () => {
        if (++calls > 1) throw new Error('the database went away');
        return undefined;
      },
      10_000,
    );
    await new Promise((r) => setTimeout(r, 50));
    await a.publish({ type: 'operation.succeeded', id, teamId: 't1' });
    await expect(within(5000, 'failing waitFor', waiting)).rejects.toThrow('the database went away');
  });

  it('drops malformed pub/sub messages and keeps delivering the good ones', async () => {
    const team = newId('team');
    const id = newId('container');
    const seen: unknown[] = [];
    const off = b.subscribeTeam(team, (e) => seen.push(e));
    try {
      let ready = false;
      const waiting = b.waitFor(id, async () => (ready ? 'ok' : undefined), 10_000);
      const raw = connections[0].client;
      await raw.publish(EVENTS_CHANNEL, 'not json at all {');
      await raw.publish(EVENTS_CHANNEL, 'null');
      await raw.publish(EVENTS_CHANNEL, '');
      ready = true;
      const good = nextEvent(b, team, (e) => e.id === id);
      await a.publish({ type: 'container.running', id, teamId: team });
      await expect(within(5000, 'good event', good)).resolves.toMatchObject({ id, teamId: team, type: 'container.running' });
      await expect(within(5000, 'waitFor after garbage', waiting)).resolves.toBe('ok');
      expect(seen).toHaveLength(1);
      // Each replica logged and dropped each of the three.
      const dropped = warn.mock.calls.map(([m]) => String(m)).filter((m) => m.startsWith('dropped a malformed event'));
      expect(dropped).toHaveLength(6);
      expect(dropped.filter((m) => m.includes('SyntaxError'))).toHaveLength(4);
    } finally {
      off();
    }
  });
});
