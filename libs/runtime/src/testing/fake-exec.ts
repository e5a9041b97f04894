import type { ExecResult } from '@berth/domain';
import type { OciProcess } from '../oci-process';
import type { FakeContainer } from './fake-container';
import type { FakeProcess, FakeProgram } from './fake-process';
import { runFakeProgram } from './fake-shell';

const EXEC_OUTPUT_LIMIT = 1024 * 1024;

/**
 * Runs an exec process in a running container: output kept up to 1 MiB a stream,
 * killed at the timeout or with the container's init.
 */
export async function runFakeExec(container: FakeContainer, oci: OciProcess, program: FakeProgram | undefined, timeoutSec: number): Promise<ExecResult> {
  const output = { stdout: '', stderr: '' };
  let truncated = false;
  const kill = new AbortController();
  const stopWithContainer = () => kill.abort();
  container.run!.killed.addEventListener('abort', stopWithContainer, { once: true });
  const process: FakeProcess = {
    argv: oci.args,
    env: Object.fromEntries(oci.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])),
    cwd: oci.cwd,
    uid: oci.user.uid,
    gid: oci.user.gid,
    hostname: container.process.hostname,
    write: (stream, text) => {
      if (kill.signal.aborted) return;
      const room = EXEC_OUTPUT_LIMIT - output[stream].length;
      if (text.length > room) truncated = true;
      output[stream] += text.slice(0, Math.max(0, room));
    },
    killed: kill.signal,
    onSignal: () => undefined,
  };
  const timer = setTimeout(() => kill.abort(), timeoutSec * 1000);
  const killed = new Promise<number>((resolve) => kill.signal.addEventListener('abort', () => resolve(137), { once: true }));
  const running = runFakeProgram(program, process);
  try {
    const exitCode = await Promise.race([running, killed]);
    return { exitCode, stdout: output.stdout, stderr: output.stderr, truncated };
  } finally {
    clearTimeout(timer);
    kill.abort();
    container.run!.killed.removeEventListener('abort', stopWithContainer);
  }
}
