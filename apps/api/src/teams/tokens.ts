import { createHash, randomBytes } from 'node:crypto';

const TOKEN_PREFIX = 'berth_';

/** A new secret: 32 random bytes, base64url, with a recognisable prefix. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Tokens are high-entropy secrets, so one SHA-256 is the right hash (no salt or stretching needed). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function tokenDisplayPrefix(token: string): string {
  return token.slice(0, 12);
}
