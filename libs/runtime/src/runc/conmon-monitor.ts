import { pollUntil } from '../shared/poll';
import { conmonArgs, spawnConmon } from './conmon';
import { isProcessAlive, processArgv, readPidFile } from './processes';
import type { StateLayout } from './state-layout';

export interface ConmonMonitorOptions {
  conmonPath: string;
  runcPath: string;
  /** How long conmon may take to leave before it is killed. */
  killGraceMs: number;
}

/** The conmon process that holds each container's stdio, log and exit code. */
export class ConmonMonitor {
  constructor(
    private readonly layout: StateLayout,
    private readonly options: ConmonMonitorOptions,
  ) {}

  async spawn(id: string, name: string | undefined): Promise<void> {
    const args = conmonArgs({
      id,
      name: name || id,
      runcPath: this.options.runcPath,
      runcRoot: this.layout.runcRoot,
      bundle: this.layout.bundle(id),
      containerPidFile: this.layout.file(id, 'pidfile'),
      conmonPidFile: this.layout.file(id, 'conmon.pid'),
      logPath: this.layout.file(id, 'ctr.log'),
      exitDir: this.layout.exits,
      socketDir: this.layout.sockets,
    });
    await spawnConmon(this.options.conmonPath, args, { cwd: this.layout.bundle(id) });
  }

  /** The container's conmon, when its pid file names a live conmon of this container. */
  async pid(id: string): Promise<number | undefined> {
    const pid = await readPidFile(this.layout.file(id, 'conmon.pid'));
    if (!pid || !(await isProcessAlive(pid))) return undefined;
    const argv = await processArgv(pid);
    return argv?.includes(id) && argv[0]?.endsWith('conmon') ? pid : undefined;
  }

  async alive(id: string): Promise<boolean> {
    return (await this.pid(id)) !== undefined;
  }

  /** conmon leaves once the container is gone and the exit file written; a stuck one is killed. */
  async waitForExit(id: string): Promise<void> {
    const gone = async () => (await this.pid(id)) === undefined;
    if (await pollUntil(gone, { timeoutMs: this.options.killGraceMs, intervalMs: 20 })) return;
    const pid = await this.pid(id);
    if (pid) process.kill(pid, 'SIGKILL');
    await pollUntil(gone, { timeoutMs: 2000, intervalMs: 20 });
  }
}
