import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox('s'.repeat(40), 'registry credentials');

  it('opens what it sealed, and the sealed text does not contain the secret', () => {
    const sealed = box.seal('hunter2-password', 'team_a/reg_1');
    expect(sealed).not.toContain('hunter2');
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(box.open(sealed, 'team_a/reg_1')).toBe('hunter2-password');
    expect(box.seal('hunter2-password', 'team_a/reg_1')).not.toBe(sealed); // a fresh IV every time
  });

  it('refuses a value from another row, under another key, or tampered with', () => {
    const sealed = box.seal('pw', 'team_a/reg_1');
    expect(() => box.open(sealed, 'team_b/reg_1')).toThrow();
    expect(() => new SecretBox('t'.repeat(40), 'registry credentials').open(sealed, 'team_a/reg_1')).toThrow();
    expect(() => new SecretBox('s'.repeat(40), 'other purpose').open(sealed, 'team_a/reg_1')).toThrow();
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3], 'base64url');
    body[0] ^= 1;
    expect(() => box.open([parts[0], parts[1], parts[2], body.toString('base64url')].join('.'), 'team_a/reg_1')).toThrow();
    expect(() => box.open('garbage', 'team_a/reg_1')).toThrow('not a sealed value');
  });
});
