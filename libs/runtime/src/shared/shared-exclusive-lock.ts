interface Waiter {
  exclusive: boolean;
  grant: () => void;
}

/**
 * An in-process read/write lock: any number of shared holders at once, or one
 * exclusive holder. Requests are granted in arrival order, so a waiting
 * exclusive request holds back shared ones that come after it and neither side
 * starves.
 */
export class SharedExclusiveLock {
  /** Shared holders, or -1 while held exclusively. */
  private holders = 0;
  private readonly waiting: Waiter[] = [];

  shared<T>(work: () => Promise<T>): Promise<T> {
    return this.run(false, work);
  }

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.run(true, work);
  }

  private async run<T>(exclusive: boolean, work: () => Promise<T>): Promise<T> {
    await this.acquire(exclusive);
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquire(exclusive: boolean): Promise<void> {
    if (this.waiting.length === 0 && this.canGrant(exclusive)) {
      this.take(exclusive);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push({ exclusive, grant: resolve }));
  }

  private release(): void {
    this.holders = this.holders === -1 ? 0 : this.holders - 1;
    while (this.waiting.length > 0 && this.canGrant(this.waiting[0].exclusive)) {
      const next = this.waiting.shift()!;
      this.take(next.exclusive);
      next.grant();
    }
  }

  private canGrant(exclusive: boolean): boolean {
    return exclusive ? this.holders === 0 : this.holders >= 0;
  }

  private take(exclusive: boolean): void {
    this.holders = exclusive ? -1 : this.holders + 1;
  }
}
