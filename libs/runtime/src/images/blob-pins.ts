import type { SharedExclusiveLock } from '../shared/shared-exclusive-lock';

/** Blobs (and their unpacked layers) that gc must keep, with how many operations need them. */
export class BlobPins {
  private readonly counts = new Map<string, number>();

  constructor(private readonly lock: SharedExclusiveLock) {}

  /**
   * Keeps blobs (and the layers unpacked from them) from gc until the returned
   * function is called. Taken under the shared lock, so never while gc runs.
   */
  async pin(digests: string[]): Promise<() => void> {
    const unique = [...new Set(digests)];
    await this.lock.shared(async () => {
      for (const digest of unique) this.counts.set(digest, (this.counts.get(digest) ?? 0) + 1);
    });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const digest of unique) {
        const left = (this.counts.get(digest) ?? 1) - 1;
        if (left > 0) this.counts.set(digest, left);
        else this.counts.delete(digest);
      }
    };
  }

  pinned(): string[] {
    return [...this.counts.keys()];
  }
}
