import { randomBytes } from 'node:crypto';

/** Prefixes of every kind of id Berth hands out. */
export const IdPrefix = {
  team: 'team',
  token: 'tok',
  host: 'host',
  container: 'ctr',
  image: 'img',
  operation: 'op',
  upload: 'upl',
  registry: 'reg',
  volume: 'vol',
  network: 'net',
  endpoint: 'ep',
  event: 'evt',
} as const;
export type IdKind = keyof typeof IdPrefix;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case
let lastMs = 0;
let lastRandom: number[] = [];

/**
 * A prefixed, lexically sortable id: 10 chars of millisecond time and 16 chars of
 * randomness (a ULID in lower case). Ids made in the same millisecond by this
 * process stay ordered by incrementing the random part.
 */
export function newId(kind: IdKind, now = Date.now()): string {
  let random: number[];
  if (now <= lastMs && lastRandom.length) {
    now = lastMs;
    random = increment(lastRandom);
  } else {
    const bytes = randomBytes(16);
    random = Array.from(bytes, (b) => b & 31);
  }
  lastMs = now;
  lastRandom = random;
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return `${IdPrefix[kind]}_${time}${random.map((d) => ALPHABET[d]).join('')}`;
}

function increment(digits: number[]): number[] {
  const out = digits.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] < 31) {
      out[i]++;
      return out;
    }
    out[i] = 0;
  }
  return out;
}

export function isId(kind: IdKind, value: string): boolean {
  return new RegExp(`^${IdPrefix[kind]}_[0-9a-hjkmnp-tv-z]{26}$`).test(value);
}

/** Names of containers, volumes and networks: unique in the team, as Docker allows them. */
export const RESOURCE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
export const RESOURCE_NAME_RULE = 'must start with a letter or digit and use only letters, digits, _ . - (at most 128)';
