import { InvalidArgumentError } from '@berth/domain';

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
