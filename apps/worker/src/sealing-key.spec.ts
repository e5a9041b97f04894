import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealLogin } from '@berth/domain';
import { SealingKey } from './sealing-key';

describe('SealingKey', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'berth-sealing-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('is made on first start with mode 0600, kept across restarts, and opens what was sealed to it', async () => {
    const path = join(dir, 'worker', 'sealing-key.pem');
    const first = await SealingKey.load(path, 'h1');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const again = await SealingKey.load(path, 'h1');
    expect(again.publicKey).toBe(first.publicKey);
    const teamId = 'team_01hzzzzzzzzzzzzzzzzzzzzzzz';
    const login = { server: 'r:5000', username: 'u', password: 'p' };
    expect(again.open(sealLogin(login, first.publicKey, { hostName: 'h1', teamId }), teamId)).toEqual(login);
    const other = await SealingKey.load(join(dir, 'other.pem'), 'h1');
    expect(other.publicKey).not.toBe(first.publicKey);
    expect(() => other.open(sealLogin(login, first.publicKey, { hostName: 'h1', teamId }), teamId)).toThrow(/not sealed for host h1/);
  });
});
