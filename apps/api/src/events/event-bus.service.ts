import { EventEmitter } from 'node:events';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { EVENTS_CHANNEL } from '@berth/domain';
import { RedisConnections } from '../common/redis';

export interface BerthEvent {
  /** `container.running`, `container.exited`, `container.restarted`, `container.health_status`, `container.deleted`, `operation.succeeded`, … */
  type: string;
  /** The resource the event is about. */
  id: string;
  teamId: string;
  at: string;
  attributes?: Record<string, unknown>;
}

/**
 * Events shared by every API replica through Redis pub/sub. Long-polls listen
 * here instead of polling the database.
 */
@Injectable()
export class EventBus implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('EventBus');
  private readonly local = new EventEmitter();
  private subscriber?: Redis;

  constructor(private readonly redis: RedisConnections) {
    this.local.setMaxListeners(0);
  }

  async onModuleInit(): Promise<void> {
    this.subscriber = this.redis.duplicate();
    this.subscriber.on('message', (_channel: string, message: string) => {
      try {
        const event = JSON.parse(message) as BerthEvent;
        this.local.emit(event.id, event);
        this.local.emit(teamChannel(event.teamId), event);
      } catch (err) {
        this.logger.warn(`dropped a malformed event: ${String(err)}`);
      }
    });
    await this.subscriber.subscribe(EVENTS_CHANNEL);
  }

  async publish(event: Omit<BerthEvent, 'at'>): Promise<void> {
    await this.redis.client.publish(EVENTS_CHANNEL, JSON.stringify({ ...event, at: new Date().toISOString() }));
  }

  /** Every event of one team, until the returned function is called. */
  subscribeTeam(teamId: string, listener: (event: BerthEvent) => void): () => void {
    this.local.on(teamChannel(teamId), listener);
    return () => this.local.off(teamChannel(teamId), listener);
  }

  /**
   * Resolves when `check` answers a value (checked now and after every event about
   * `id`), or with `undefined` after `timeoutMs`.
   */
  async waitFor<T>(id: string, check: () => Promise<T | undefined>, timeoutMs: number, signal?: AbortSignal): Promise<T | undefined> {
    const first = await check();
    if (first !== undefined) return first;
    return new Promise<T | undefined>((resolve, reject) => {
      let checking = false;
      let again = false;
      const done = (value: T | undefined, err?: unknown) => {
        clearTimeout(timer);
        clearInterval(safety);
        this.local.off(id, onEvent);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(value);
      };
      const onEvent = () => {
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        check()
          .then((value) => {
            checking = false;
            if (value !== undefined) done(value);
            else if (again) {
              again = false;
              onEvent();
            }
          })
          .catch((err) => done(undefined, err));
      };
      const onAbort = () => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      // A missed message (a Redis reconnect) costs at most this much latency.
      const safety = setInterval(onEvent, 2000);
      this.local.on(id, onEvent);
      signal?.addEventListener('abort', onAbort);
      // The caller may have gone away during the first check: no 'abort' event comes after that.
      if (signal?.aborted) onAbort();
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.subscriber) this.redis.release(this.subscriber);
  }
}

function teamChannel(teamId: string): string {
  return `team:${teamId}`;
}
