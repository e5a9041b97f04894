import { newSealingKeyPair, openLogin, sealLogin, sealingPublicKey, SealedLoginSchema } from './sealing';

describe('sealed registry logins', () => {
  const login = { server: '127.0.0.1:5000', username: 'ci', password: 'hunter2-ünïcode' };
  const to = { hostName: 'h1', teamId: 'team_01hzzzzzzzzzzzzzzzzzzzzzzz' };
  const host = newSealingKeyPair();

  it('opens with the host key what was sealed to its public key, and reveals nothing on the wire', () => {
    const sealed = sealLogin(login, host.publicKey, to);
    expect(SealedLoginSchema.parse(sealed)).toEqual(sealed);
    expect(JSON.stringify(sealed)).not.toContain('hunter2');
    expect(JSON.stringify(sealed)).not.toContain('ci');
    expect(openLogin(sealed, host.privateKeyPem, to)).toEqual(login);
    // A fresh ephemeral key and IV every time.
    expect(sealLogin(login, host.publicKey, to).epk).not.toBe(sealed.epk);
  });

  it('derives the same public key from the kept private key (what a restarted worker reports)', () => {
    expect(sealingPublicKey(host.privateKeyPem)).toBe(host.publicKey);
  });

  it("refuses to open with another host's key", () => {
    const sealed = sealLogin(login, host.publicKey, to);
    expect(() => openLogin(sealed, newSealingKeyPair().privateKeyPem, to)).toThrow(
      expect.objectContaining({ errorClass: 'FailedPrecondition', reason: 'SealedLoginRefused' }),
    );
  });

  it('refuses a login bound to another team or another host', () => {
    const sealed = sealLogin(login, host.publicKey, to);
    expect(() => openLogin(sealed, host.privateKeyPem, { ...to, teamId: 'team_01hyyyyyyyyyyyyyyyyyyyyyyy' })).toThrow(
      /not sealed for host h1 and team team_01hy/,
    );
    expect(() => openLogin(sealed, host.privateKeyPem, { ...to, hostName: 'h2' })).toThrow(expect.objectContaining({ reason: 'SealedLoginRefused' }));
  });

  it('refuses a tampered blob: ciphertext, tag, IV or ephemeral key', () => {
    const sealed = sealLogin(login, host.publicKey, to);
    const flip = (b64: string, at: number) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[at] ^= 1;
      return bytes.toString('base64');
    };
    const box = Buffer.from(sealed.box, 'base64');
    for (const tampered of [
      { ...sealed, box: flip(sealed.box, 0) },
      { ...sealed, box: flip(sealed.box, box.length - 1) },
      { ...sealed, box: box.subarray(0, 8).toString('base64') },
      { ...sealed, iv: flip(sealed.iv, 0) },
      { ...sealed, epk: newSealingKeyPair().publicKey },
    ]) {
      expect(() => openLogin(tampered, host.privateKeyPem, to)).toThrow(expect.objectContaining({ reason: 'SealedLoginRefused' }));
    }
  });

  it('refuses a key that is not an X25519 public key when sealing', () => {
    expect(() => sealLogin(login, Buffer.alloc(16).toString('base64'), to)).toThrow(expect.objectContaining({ reason: 'InvalidSealingKey' }));
  });
});
