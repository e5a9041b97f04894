import { DataSource } from 'typeorm';
import { ConflictError, Container, Team } from '@berth/domain';
import { createTestDatabase, seedContainer, seedHost, seedTeam } from '../testing/test-database';
import { Transactions } from './transactions';
import { updateVersioned } from './versioned';

describe('Transactions', () => {
  let db: DataSource;
  let tx: Transactions;
  let team: Team;

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    team = await seedTeam(db);
  });
  afterEach(() => db.destroy());

  const rename = (name: string) => tx.repository(Team).update({ id: team.id }, { name });
  const nameNow = async () => (await db.getRepository(Team).findOneByOrFail({ id: team.id })).name;

  it('commits what every repository call inside run wrote', async () => {
    await tx.run(async () => {
      expect(tx.inTransaction).toBe(true);
      await rename('renamed');
    });
    expect(tx.inTransaction).toBe(false);
    await expect(nameNow()).resolves.toBe('renamed');
  });

  it('rolls back everything, however deep, when run throws', async () => {
    const deeper = async () => {
      await rename('half-done');
      throw new Error('boom');
    };
    await expect(tx.run(async () => tx.run(deeper))).rejects.toThrow('boom');
    await expect(nameNow()).resolves.toBe(team.name);
  });

  it('a nested run joins the outer transaction', async () => {
    const managers: unknown[] = [];
    await tx.run(async () => {
      managers.push(tx.manager);
      await tx.run(async () => void managers.push(tx.manager));
    });
    expect(managers[0]).toBe(managers[1]);
    expect(managers[0]).not.toBe(db.manager);
  });
  it('runs what waits for the commit only once the outermost transaction has committed, and never after a rollback', async () => {
    const seen: string[] = [];
    await tx.run(async () => {
      await rename('committed');
      await tx.afterCommit(async () => void seen.push(`after: ${await nameNow()}`));
      await tx.run(async () => void (await tx.afterCommit(() => void seen.push('inner'))));
      seen.push('inside');
    });
    expect(seen).toEqual(['inside', 'after: committed', 'inner']);
    await expect(
      tx.run(async () => {
        await tx.afterCommit(() => void seen.push('rolled back'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(seen).not.toContain('rolled back');
    await tx.afterCommit(() => void seen.push('now'));
    expect(seen.at(-1)).toBe('now');
  });

  it('on SQLite runs one transaction at a time, and a query from outside waits instead of landing inside it', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const first = tx.run(async () => {
      await rename('first');
      await held;
      order.push('first rolls back');
      throw new Error('rolled back');
    });
    // Let the first transaction take the connection.
    await new Promise((r) => setTimeout(r, 20));
    const outside = rename('outside').then(() => void order.push('outside wrote'));
    const second = tx.run(async () => {
      order.push('second began');
      await tx.repository(Team).findOneByOrFail({ id: team.id });
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    release();
    await expect(first).rejects.toThrow('rolled back');
    await Promise.all([outside, second]);
    expect(order.slice(0, 1)).toEqual(['first rolls back']);
    expect(order).toHaveLength(3);
    // The write from outside was not rolled back with the first transaction.
    await expect(nameNow()).resolves.toBe('outside');
  });
});

describe('updateVersioned', () => {
  it('writes when the version is the one read, and refuses a second writer of the same version', async () => {
    const { db } = await createTestDatabase();
    try {
      const team = await seedTeam(db);
      const host = await seedHost(db, team);
      const row = await seedContainer(db, team, host, { name: 'c1', status: 'pending' });
      const first = await db.getRepository(Container).findOneByOrFail({ id: row.id });
      const second = await db.getRepository(Container).findOneByOrFail({ id: row.id });
      const updated = await updateVersioned(db.getRepository(Container), first, { name: 'c2' }, 'container');
      expect(updated).toMatchObject({ name: 'c2', version: second.version + 1 });
      await expect(updateVersioned(db.getRepository(Container), second, { name: 'c3' }, 'container')).rejects.toBeInstanceOf(ConflictError);
      await expect(db.getRepository(Container).findOneByOrFail({ id: row.id })).resolves.toMatchObject({ name: 'c2' });
    } finally {
      await db.destroy();
    }
  });
});
