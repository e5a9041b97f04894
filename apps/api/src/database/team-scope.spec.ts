import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { OperationsRepository } from '../operations/operations.repository';
import { createTestDatabase } from '../testing/test-database';

/** Every repository of the API, found on disk so that a new one cannot be missed. */
function repositoryFiles(dir = join(__dirname, '..')): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return repositoryFiles(path);
    return name.endsWith('.repository.ts') ? [path] : [];
  });
}

type RepositoryClass = { name: string; prototype: object; systemQueries?: readonly string[] };

function repositoryClasses(): Array<{ file: string; cls: RepositoryClass }> {
  return repositoryFiles().flatMap((file) =>
    // Loaded by path: the point is to find every repository, including ones nobody imports here.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    Object.values(require(file) as Record<string, unknown>)
      .filter((v): v is RepositoryClass => typeof v === 'function' && /Repository$/.test((v as RepositoryClass).name))
      .map((cls) => ({ file: relative(join(__dirname, '..'), file), cls })),
  );
}

function methods(cls: RepositoryClass): Array<{ name: string; firstParam: string | undefined }> {
  return Object.getOwnPropertyNames(cls.prototype)
    .filter((name) => name !== 'constructor')
    .map((name) => ({ name, descriptor: Object.getOwnPropertyDescriptor(cls.prototype, name)! }))
    .filter(({ descriptor }) => typeof descriptor.value === 'function')
    .filter(({ name }) => !name.startsWith('_'))
    .map(({ name, descriptor }) => {
      const params = /^[^(]*\(([^)]*)\)/.exec(String(descriptor.value))?.[1] ?? '';
      return { name, firstParam: params.split(',')[0]?.trim().split(/[\s=]/)[0] || undefined };
    });
}

/**
 * Team isolation is enforced in the repositories: a method that reads or writes a
 * team's rows takes the caller's scope first, and the few that span teams on
 * purpose are named in the class's `systemQueries`. A repository's own helpers are
 * ES private methods (`#name`), which no caller can reach and this check does not see.
 */
describe('repositories take the caller’s team', () => {
  const found = repositoryClasses();

  it('finds the repositories', () => {
    expect(found.map((r) => r.cls.name)).toContain('OperationsRepository');
  });

  it.each(found.map((r) => [r.cls.name, r] as const))('%s: every method takes a scope first, or is a declared system query', (_name, { cls }) => {
    const system = new Set(cls.systemQueries ?? []);
    const unscoped = methods(cls).filter((m) => m.firstParam !== 'scope' && !system.has(m.name));
    expect(unscoped.map((m) => `${m.name}(${m.firstParam ?? ''})`)).toEqual([]);
    // A system query that no longer exists is a stale exemption.
    const names = new Set(methods(cls).map((m) => m.name));
    expect([...system].filter((n) => !names.has(n))).toEqual([]);
  });

  it('a query without a team does not compile, and fails if forced', async () => {
    const { db, tx } = await createTestDatabase();
    try {
      const operations = new OperationsRepository(tx);
      // @ts-expect-error a team-scoped read needs the caller's scope
      const unscoped = async () => operations.find('op_01jd8x6w3q0000000000000000');
      await expect(unscoped()).rejects.toThrow('no team');
    } finally {
      await db.destroy();
    }
  });
});
