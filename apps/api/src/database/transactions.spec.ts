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
