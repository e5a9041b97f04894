import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  KeyObject,
  randomBytes,
  createPrivateKey,
} from 'node:crypto';
import { z } from 'zod';
import { FailedPreconditionError } from '../errors';

/**
 * Registry logins travel inside the job, sealed for the one host that runs it: an
 * ephemeral X25519 key agreement with the host's public key, HKDF-SHA256 for the key,
 * AES-256-GCM for the login, with the host and the team as associated data. Only
 * the host's private key (in its data dir) opens it, and only for that team; the
 * blob stays sealed wherever the job is stored or re-enqueued.
 */

const VERSION = 1;
const INFO = Buffer.from('berth sealed registry login v1');
const MAX_SEALED_BYTES = 32 * 1024;

const base64 = (bytes?: number, max = MAX_SEALED_BYTES) =>
  z
    .string()
    .max(Math.ceil(max / 3) * 4)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, { error: 'must be base64' })
    .refine((s) => (bytes === undefined ? s.length > 0 : Buffer.from(s, 'base64').length === bytes), {
      error: bytes === undefined ? 'must not be empty' : `must be ${bytes} bytes`,
    });

/** A host's public sealing key: an X25519 key, 32 bytes in base64. */
export const SealingKeySchema = base64(32);

/** What a registry login looks like once opened. */
export const RegistryLoginSchema = z.object({
  server: z.string().min(1).max(255),
  username: z.string().max(1024),
  password: z.string().max(16 * 1024),
});
export type RegistryLogin = z.infer<typeof RegistryLoginSchema>;

export const SealedLoginSchema = z.object({
  v: z.literal(VERSION),
  /** The sender's one-time X25519 public key. */
  epk: base64(32),
  iv: base64(12),
  /** The AES-256-GCM ciphertext of the login (JSON) followed by its 16-byte tag. */
  box: base64(),
});
export type SealedLogin = z.infer<typeof SealedLoginSchema>;

/** Who a sealed login is for: the host that may open it, and the team whose job carries it. */
export interface SealedFor {
  hostName: string;
  teamId: string;
}

/** A new key pair for a host: the private key as PKCS#8 PEM (kept by the host), the public key to report. */
export function newSealingKeyPair(): { privateKeyPem: string; publicKey: string } {
  const { privateKey } = generateKeyPairSync('x25519');
  return { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicKey: rawPublicKey(privateKey) };
}

/** The public key (base64) that goes with a private key in PEM. */
export function sealingPublicKey(privateKeyPem: string): string {
  return rawPublicKey(createPrivateKey(privateKeyPem));
}

export function sealLogin(login: RegistryLogin, publicKey: string, to: SealedFor): SealedLogin {
  const recipient = publicKeyFrom(publicKey);
  const ephemeral = generateKeyPairSync('x25519');
  const epk = rawPublicKey(ephemeral.privateKey);
  const key = derive(diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient }), epk, publicKey);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associatedData(to));
  const sealed = Buffer.concat([cipher.update(JSON.stringify(RegistryLoginSchema.parse(login)), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { v: VERSION, epk, iv: iv.toString('base64'), box: sealed.toString('base64') };
}

/** Opens a login sealed for this host and the job's team; anything else (another host's, another team's, altered) is refused. */
export function openLogin(sealed: SealedLogin, privateKeyPem: string, to: SealedFor): RegistryLogin {
  const privateKey = createPrivateKey(privateKeyPem);
  const refused = () =>
    new FailedPreconditionError(
      `the registry login in this job was not sealed for host ${to.hostName} and team ${to.teamId}, or was altered`,
      'SealedLoginRefused',
    );
  try {
    const key = derive(diffieHellman({ privateKey, publicKey: publicKeyFrom(sealed.epk) }), sealed.epk, rawPublicKey(privateKey));
    const box = Buffer.from(sealed.box, 'base64');
    if (box.length < 17) throw refused();
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(associatedData(to));
    decipher.setAuthTag(box.subarray(box.length - 16));
    const plain = Buffer.concat([decipher.update(box.subarray(0, box.length - 16)), decipher.final()]);
    return RegistryLoginSchema.parse(JSON.parse(plain.toString('utf8')));
  } catch {
    throw refused();
  }
}

function derive(shared: Buffer, epk: string, recipient: string): Buffer {
  const salt = Buffer.concat([Buffer.from(epk, 'base64'), Buffer.from(recipient, 'base64')]);
  return Buffer.from(hkdfSync('sha256', shared, salt, INFO, 32));
}

function associatedData(to: SealedFor): Buffer {
  return Buffer.from(`berth registry login v${VERSION}\nhost=${to.hostName}\nteam=${to.teamId}`, 'utf8');
}

function rawPublicKey(key: KeyObject): string {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

function publicKeyFrom(base64Key: string): KeyObject {
  const raw = Buffer.from(base64Key, 'base64');
  if (raw.length !== 32) throw new FailedPreconditionError('a sealing key is 32 bytes (X25519, base64)', 'InvalidSealingKey');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}
