import { InvalidArgumentError } from '@berth/domain';

/** Opaque page cursors: the last id of the page, base64url-encoded. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[a-z]+_[0-9a-z]{26}$/.test(id)) {
    throw new InvalidArgumentError(
      'cursor is not valid: pass nextCursor from a previous page',
      [{ field: 'cursor', message: 'not a cursor' }],
      'InvalidCursor',
    );
  }
  return id;
}
