import { spawn } from 'node-pty';
import type { TtySession } from '../container-runtime';

export interface TtyExecOptions {
  runcPath: string;
  runcRoot: string;
  id: string;
  processFile: string;
  cols: number;
  rows: number;
}

/**
 * `runc exec` in the foreground under a pseudo-terminal. runc gives the process a
 * console of its own and copies between it and our terminal, and it passes a
 * resize of our terminal (SIGWINCH) on to the container's console.
 */
export function spawnTtyExec(options: TtyExecOptions): TtySession {
  const child = spawn(options.runcPath, ['--root', options.runcRoot, 'exec', '--process', options.processFile, options.id], {
    name: 'xterm-256color',
    cols: options.cols,
    rows: options.rows,
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', TERM: 'xterm-256color' },
  });
  const exited = new Promise<number>((resolve) => child.onExit(({ exitCode, signal }) => resolve(signal ? 128 + signal : exitCode)));
  return {
    onData: (listener) => void child.onData(listener),
    write: (data) => child.write(data),
    resize: (cols, rows) => child.resize(cols, rows),
    kill: () => child.kill('SIGKILL'),
    exited,
  };
}
