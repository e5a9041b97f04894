import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Links the API hands to workers instead of tokens: `<path>?expires=…&sig=…`,
 * an HMAC of the link's purpose, the resource id and the expiry under the API's secret.
 */
export class SignedLinks {
  constructor(
    private readonly secret: string,
    private readonly purpose: string,
    private readonly ttlMs: number,
  ) {}

  path(base: string, id: string, now = Date.now()): string {
    const expires = now + this.ttlMs;
    return `${base}/${id}?expires=${expires}&sig=${this.sign(id, expires)}`;
  }

  verify(id: string, expires: string, sig: string, now = Date.now()): boolean {
    const exp = Number(expires);
    return Number.isFinite(exp) && exp > now && typeof sig === 'string' && safeEqual(sig, this.sign(id, exp));
  }

  private sign(id: string, expires: number): string {
    return createHmac('sha256', this.secret).update(`${this.purpose}:${id}:${expires}`).digest('base64url');
  }
}

/** Compares two strings in time that does not depend on where they differ. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
