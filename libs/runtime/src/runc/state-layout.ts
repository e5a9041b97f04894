import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@berth/domain';

/**
 * Where the runc runtime keeps everything, under one root:
 *
 *   containers/<id>/   the OCI bundle and our files: config.json, rootfs/ (overlay
 *                      mount point), upper/, work/, meta.json, ctr.log (conmon's
 *                      k8s-file log), conmon.pid, pidfile, hosts, hostname,
 *                      resolv.conf, oom (written by conmon on an OOM kill)
 *   exits/<id>         conmon's exit file: the exit code; its mtime is the finish time
 *   runc/              `runc --root`: private to this runtime
 *   sockets/<id>       conmon's attach-socket link (--socket-dir-path)
 */
export class StateLayout {
  readonly containers: string;
  readonly exits: string;
  readonly runcRoot: string;
  readonly sockets: string;

  constructor(readonly root: string) {
    this.containers = join(root, 'containers');
    this.exits = join(root, 'exits');
    this.runcRoot = join(root, 'runc');
    this.sockets = join(root, 'sockets');
  }

  async ensure(): Promise<void> {
    for (const dir of [this.containers, this.exits, this.runcRoot, this.sockets]) await mkdir(dir, { recursive: true, mode: 0o711 });
  }

  bundle(id: string): string {
    return join(this.containers, checkedId(id));
  }

  file(id: string, name: ContainerFile): string {
    return join(this.bundle(id), name);
  }

  exitFile(id: string): string {
    return join(this.exits, checkedId(id));
  }

  socketLink(id: string): string {
    return join(this.sockets, checkedId(id));
  }
}

export type ContainerFile =
  | 'config.json'
  | 'rootfs'
  | 'upper'
  | 'work'
  | 'meta.json'
  | 'ctr.log'
  | 'conmon.pid'
  | 'pidfile'
  | 'hosts'
  | 'hostname'
  | 'resolv.conf'
  | 'oom';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export function isValidContainerId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Ids become file names and runc ids: letters, digits, `_` and `-` only (no dots, no slashes). */
export function checkedId(id: string): string {
  if (!isValidContainerId(id)) {
    throw new InvalidArgumentError(`invalid container id ${JSON.stringify(id)}`, [
      { field: 'id', message: 'letters, digits, _ and - only, at most 128 characters' },
    ]);
  }
  return id;
}
