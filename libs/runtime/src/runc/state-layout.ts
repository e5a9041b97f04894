import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkedId } from '../shared/container-id';

/**
 * Where the runc runtime keeps everything, under one root:
 *
 *   containers/<id>/   the OCI bundle and our files: config.json, rootfs/ (overlay
 *                      mount point), upper/, work/, meta.json, ctr.log (conmon's
 *                      k8s-file log), conmon.pid, pidfile, hosts, hostname,
 *                      resolv.conf, oom (written by conmon on an OOM kill),
 *                      exec/ (process, pid and runc log files of running execs),
 *                      update.json (the resources of a `runc update`, while it runs)
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
  | 'oom'
  | 'exec'
  | 'update.json';
