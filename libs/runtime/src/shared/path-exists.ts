import { access } from 'node:fs/promises';

/** Whether something is at `path` (a failure to look counts as nothing there). */
export function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
