import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RegistryLogin, SealedLogin, newSealingKeyPair, openLogin, sealingPublicKey } from '@berth/domain';

/**
 * This host's X25519 key pair for registry logins sealed inside its jobs. Made on
 * first start in the data dir (mode 0600) and kept across restarts, so a job that
 * waited in the queue, or an operation re-enqueued later, still opens. The public
 * half travels in every heartbeat (HostInfo.sealingKey).
 */
export class SealingKey {
  private constructor(
    private readonly privateKeyPem: string,
    readonly publicKey: string,
    private readonly hostName: string,
  ) {}

  /** Reads the key at `path`, or makes one there when there is none. */
  static async load(path: string, hostName: string): Promise<SealingKey> {
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      pem = newSealingKeyPair().privateKeyPem;
      // `wx`: two workers starting on one data dir never overwrite each other's key.
      await writeFile(path, pem, { mode: 0o600, flag: 'wx' }).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
        pem = await readFile(path, 'utf8');
      });
    }
    await chmod(path, 0o600);
    return new SealingKey(pem, sealingPublicKey(pem), hostName);
  }

  /** Opens a login sealed for this host and `teamId`; a FailedPrecondition error (SealedLoginRefused) for anything else. */
  open(sealed: SealedLogin, teamId: string): RegistryLogin {
    return openLogin(sealed, this.privateKeyPem, { hostName: this.hostName, teamId });
  }
}
