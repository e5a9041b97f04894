import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@berth/domain';

/** Users: `uid`, `uid:gid`, `name`, `name:group`, looked up in the image's /etc/passwd and /etc/group. */

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** From /etc/passwd when the user is listed there, else `/`. */
  home: string;
}

export interface UserDatabase {
  passwd?: string;
  group?: string;
}

/** Resolves a user against the rootfs's /etc/passwd and /etc/group (symlinks there are not followed). */
export async function resolveUser(userSpec: string | undefined, rootfsDir: string): Promise<ResolvedUser> {
  return resolveUserFromDatabase(userSpec, await readUserDatabase(rootfsDir));
}

/** The rootfs's /etc/passwd and /etc/group, as far as they are plain files. */
export async function readUserDatabase(rootfsDir: string): Promise<UserDatabase> {
  const [passwd, group] = await Promise.all([readEtcFile(rootfsDir, 'passwd'), readEtcFile(rootfsDir, 'group')]);
  return { passwd, group };
}

export function resolveUserFromDatabase(userSpec: string | undefined, db: UserDatabase): ResolvedUser {
  const text = (userSpec ?? '').trim();
  const colon = text.indexOf(':');
  const userPart = (colon < 0 ? text : text.slice(0, colon)) || 'root';
  const groupPart = colon < 0 ? undefined : text.slice(colon + 1);
  const users = parseColonFile(db.passwd, 7);
  const groups = parseColonFile(db.group, 4);

  let uid: number;
  let entry: string[] | undefined;
  if (isNumericId(userPart)) {
    uid = Number(userPart);
    entry = users.find((u) => Number(u[2]) === uid);
  } else {
    entry = users.find((u) => u[0] === userPart);
    if (!entry) {
      if (userPart !== 'root') throw unknown('UnknownUser', `unable to find user ${userPart}: no matching entries in passwd file`);
      entry = ['root', 'x', '0', '0', '', '/root', ''];
    }
    uid = Number(entry[2]);
  }

  let gid = entry ? Number(entry[3]) || 0 : 0;
  if (groupPart !== undefined && groupPart !== '') {
    if (isNumericId(groupPart)) gid = Number(groupPart);
    else {
      const found = groups.find((g) => g[0] === groupPart);
      if (!found) throw unknown('UnknownGroup', `unable to find group ${groupPart}: no matching entries in group file`);
      gid = Number(found[2]);
    }
  }

  const name = entry?.[0];
  const additionalGids = name
    ? [...new Set(groups.filter((g) => (g[3] ?? '').split(',').includes(name)).map((g) => Number(g[2])))].filter((g) => g !== gid && Number.isInteger(g))
    : [];
  return { uid, gid, additionalGids, home: entry?.[5] || '/' };
}

function isNumericId(text: string): boolean {
  return /^\d{1,10}$/.test(text) && Number(text) < 2 ** 31;
}

function unknown(reason: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(message, [{ field: 'user', message }], reason);
}

function parseColonFile(content: string | undefined, fields: number): string[][] {
  if (!content) return [];
  return content
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(':'))
    .filter((parts) => parts.length >= Math.min(fields, 3) && /^\d+$/.test(parts[2]));
}

async function readEtcFile(rootfsDir: string, name: string): Promise<string | undefined> {
  try {
    const etc = await lstat(join(rootfsDir, 'etc'));
    if (!etc.isDirectory()) return undefined;
    const file = join(rootfsDir, 'etc', name);
    const stat = await lstat(file);
    if (!stat.isFile() || stat.size > 4 * 1024 * 1024) return undefined;
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
