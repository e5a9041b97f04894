import { DataSource } from 'typeorm';
import { Container, Host, InvalidArgumentError, NotFoundError, Team } from '@berth/domain';
import { encodeCursor } from '../common/cursor';
import { Transactions } from '../database/transactions';
import { createTestDatabase, seedHost, seedTeam, seedContainer } from '../testing/test-database';
import { ContainersRepository } from './containers.repository';
import { ContainersService } from './containers.service';

const scope = (t: Team) => ({ teamId: t.id });

describe('ContainersService (in-memory SQLite)', () => {
  let db: DataSource;
  let tx: Transactions;
  let team: Team;
  let other: Team;
  let host: Host;
  let service: ContainersService;

  beforeEach(async () => {
    ({ db, tx } = await createTestDatabase());
    [team, other] = [await seedTeam(db, 'a'), await seedTeam(db, 'b')];
    host = await seedHost(db, team);
    service = new ContainersService(new ContainersRepository(tx));
  });
  afterEach(() => db.destroy());

  const seedMany = async (n: number, changes: (i: number) => Partial<Container> = () => ({})) => {
    const out: Container[] = [];
    for (let i = 0; i < n; i++) out.push(await seedContainer(db, team, host, { name: `c${i}`, ...changes(i) }));
    return out;
  };
  const labelled = (labels: Record<string, string>) => ({ spec: { name: 'x', image: 'busybox', env: [], labels } });

  describe('get', () => {
    it('finds a container of the team by id and by name', async () => {
      const c = await seedContainer(db, team, host, { name: 'web' });
      await expect(service.get(scope(team), c.id)).resolves.toMatchObject({ id: c.id, name: 'web' });
      await expect(service.get(scope(team), 'web')).resolves.toMatchObject({ id: c.id });
    });

    it('does not find another team’s container, by id or by name', async () => {
      const c = await seedContainer(db, team, host, { name: 'web' });
      await expect(service.get(scope(other), c.id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(service.get(scope(other), 'web')).rejects.toMatchObject({ reason: 'ContainerNotFound' });
    });

    it('refuses a scope without a team instead of reading every team', async () => {
      const c = await seedContainer(db, team, host);
      await expect(service.get({ teamId: undefined as unknown as string }, c.id)).rejects.toThrow('no team');
    });
  });

  describe('list', () => {
    it('answers the team’s containers newest id first, 50 by default, without another team’s', async () => {
      const mine = await seedMany(3);
      await seedContainer(db, other, await seedHost(db, other, 'h2'));
      const page = await service.list(scope(team), {});
      expect(page.items.map((c) => c.id)).toEqual(
        mine
          .map((c) => c.id)
          .sort()
          .reverse(),
      );
      expect(page.nextCursor).toBeNull();
    });

    it('pages with a cursor until the last page', async () => {
      const ids = (await seedMany(5))
        .map((c) => c.id)
        .sort()
        .reverse();
      const first = await service.list(scope(team), { limit: 2 });
      expect(first.items.map((c) => c.id)).toEqual(ids.slice(0, 2));
      expect(first.nextCursor).toBe(encodeCursor(ids[1]));
      const second = await service.list(scope(team), { limit: 2, cursor: first.nextCursor! });
      expect(second.items.map((c) => c.id)).toEqual(ids.slice(2, 4));
      const last = await service.list(scope(team), { limit: 2, cursor: second.nextCursor! });
      expect(last.items.map((c) => c.id)).toEqual(ids.slice(4));
      expect(last.nextCursor).toBeNull();
    });

    it('filters by state', async () => {
      const [exited] = await seedMany(3, (i) => ({ status: i === 0 ? 'exited' : 'running' }));
      await expect(service.list(scope(team), { state: 'exited' })).resolves.toEqual({ items: [expect.objectContaining({ id: exited.id })], nextCursor: null });
    });

    it('filters by label key and by key=value, every filter at once', async () => {
      const [web, db1, bare] = [
        await seedContainer(db, team, host, { name: 'web', ...labelled({ app: 'web', tier: 'front' }) }),
        await seedContainer(db, team, host, { name: 'db', ...labelled({ app: 'db' }) }),
        await seedContainer(db, team, host, { name: 'bare' }),
      ];
      const ids = async (label: string[]) => (await service.list(scope(team), { label })).items.map((c) => c.id).sort();
      await expect(ids(['app'])).resolves.toEqual([web.id, db1.id].sort());
      await expect(ids(['app=web'])).resolves.toEqual([web.id]);
      await expect(ids(['app=web', 'tier=front'])).resolves.toEqual([web.id]);
      await expect(ids(['app=db', 'tier'])).resolves.toEqual([]);
      expect(bare.spec.labels).toEqual({});
    });

    it('reads past pages of containers the labels leave out, and offers a next page only when more matched', async () => {
      // Newest first: the 5 newest do not match, the 3 oldest do; with limit 2 each round reads 3 rows.
      const all = (await seedMany(8)).sort((a, b) => (a.id < b.id ? -1 : 1));
      for (const [i, c] of all.entries()) await db.getRepository(Container).update({ id: c.id }, labelled(i < 3 ? { app: 'web' } : { app: 'db' }));
      const page = await service.list(scope(team), { label: ['app=web'], limit: 2 });
      expect(page.items.map((c) => c.id)).toEqual([all[2].id, all[1].id]);
      expect(page.nextCursor).toBe(encodeCursor(all[1].id));
      const next = await service.list(scope(team), { label: ['app=web'], limit: 2, cursor: page.nextCursor! });
      expect(next).toEqual({ items: [expect.objectContaining({ id: all[0].id })], nextCursor: null });
    });

    it('stops after 50 pages of non-matching containers', async () => {
      // limit 1: each round reads 2 rows; 50 rounds read the 100 newest, so a match below them is not reached.
      const all = (await seedMany(102)).sort((a, b) => (a.id < b.id ? -1 : 1));
      await db.getRepository(Container).update({ id: all[0].id }, labelled({ app: 'web' }));
      await expect(service.list(scope(team), { label: ['app=web'], limit: 1 })).resolves.toEqual({ items: [], nextCursor: null });
      await db.getRepository(Container).update({ id: all[2].id }, labelled({ app: 'web' }));
      await expect(service.list(scope(team), { label: ['app=web'], limit: 1 })).resolves.toEqual({
        items: [expect.objectContaining({ id: all[2].id })],
        nextCursor: null,
      });
    });

    it('refuses a label filter without a key and a cursor that is not one, naming the field', async () => {
      await expect(service.list(scope(team), { label: ['=web'] })).rejects.toMatchObject({ violations: [{ field: 'label', message: 'empty key' }] });
      await expect(service.list(scope(team), { cursor: 'nope' })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(service.list(scope(team), { cursor: 'nope' })).rejects.toMatchObject({ reason: 'InvalidCursor' });
    });
  });
});
