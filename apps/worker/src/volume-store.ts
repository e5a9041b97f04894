import { lstat, mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ContainerMount, FailedPreconditionError, InvalidArgumentError, PermissionDeniedError, isId } from '@berth/domain';
import type { HostMount } from '@berth/runtime';

/** du gives up after this many entries rather than walk a huge volume for ever. */
const MAX_USAGE_ENTRIES = 1_000_000;

/**
 * Named volumes on this host: `<root>/<volume id>/_data`, made on first use and
 * kept until the volume is deleted, whatever happens to the containers.
 */
export class VolumeStore {
  constructor(readonly root: string) {}

  dataDir(volumeId: string): string {
    if (!isId('volume', volumeId)) throw new InvalidArgumentError(`"${volumeId}" is not a volume id`, [], 'InvalidVolume');
    return join(this.root, volumeId, '_data');
  }

  async ensure(volumeId: string): Promise<string> {
    const dir = this.dataDir(volumeId);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    return dir;
  }

  async remove(volumeId: string): Promise<void> {
    const dir = this.dataDir(volumeId); // checks the id before anything is removed
    await rm(join(dir, '..'), { recursive: true, force: true, maxRetries: 3 });
  }

  /** Bytes the volume's files take (apparent sizes), or 0 when it was never used. */
  async usage(volumeId: string): Promise<{ sizeBytes: number; exists: boolean }> {
    const dir = this.dataDir(volumeId);
    if (!(await stat(dir).catch(() => undefined))) return { sizeBytes: 0, exists: false };
    let sizeBytes = 0;
    let seen = 0;
    const walk = async (path: string): Promise<void> => {
      for (const entry of await readdir(path, { withFileTypes: true }).catch(() => [])) {
        if (++seen > MAX_USAGE_ENTRIES) return;
        const child = join(path, entry.name);
        if (entry.isDirectory()) await walk(child);
        else sizeBytes += (await lstat(child).catch(() => undefined))?.size ?? 0;
      }
    };
    await walk(dir);
    return { sizeBytes, exists: true };
  }

  /**
   * Settles a container's mounts on this host: volumes made if missing, with
   * copy-up asked for unless noCopy (the runtime fills a still empty volume from
   * the image when it creates the container); bind sources resolved through
   * symlinks and checked again against the allowed root the API matched, so a
   * link cannot lead outside it.
   */
  async resolve(mounts: ContainerMount[] | undefined): Promise<HostMount[]> {
    const out: HostMount[] = [];
    for (const m of mounts ?? []) {
      const readOnly = m.readOnly === true;
      if (m.type === 'tmpfs') {
        out.push({ type: 'tmpfs', destination: m.target, readOnly, sizeBytes: m.tmpfsSizeBytes });
      } else if (m.type === 'volume') {
        if (!m.volumeId) throw new InvalidArgumentError(`the volume mount at ${m.target} names no volume`, [], 'InvalidMount');
        out.push({ type: 'bind', source: await this.ensure(m.volumeId), destination: m.target, readOnly, copyUp: m.noCopy !== true });
      } else {
        out.push({ type: 'bind', source: await checkedBindSource(m), destination: m.target, readOnly });
      }
    }
    return out;
  }
}

async function checkedBindSource(m: ContainerMount): Promise<string> {
  if (!m.source || !m.allowedRoot) throw new PermissionDeniedError(`the bind mount at ${m.target} is not on the team's allowlist`, 'BindNotAllowed');
  const source = await realpath(m.source).catch(() => {
    throw new FailedPreconditionError(`bind mount source ${m.source} does not exist on this host`, 'BindSourceMissing');
  });
  const root = await realpath(m.allowedRoot).catch(() => m.allowedRoot!);
  if (source !== root && !source.startsWith(root.endsWith(sep) ? root : root + sep)) {
    throw new PermissionDeniedError(`bind mount source ${m.source} resolves to ${source}, outside the allowed ${m.allowedRoot}`, 'BindNotAllowed');
  }
  return source;
}
