import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { openDatabase } from './data-source';
import { expectRoundTrip, pendingSchemaChanges, roundTrip } from './testing/schema-checks';

describe('migrations on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-sqlite-'));
  let ds: DataSource;

  beforeAll(async () => {
    delete process.env.DATABASE_URL;
    ds = await openDatabase({ sqlitePath: join(dir, 'berth.sqlite') });
  });
  afterAll(async () => {
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('build exactly the schema the entities describe (nothing left to generate)', async () => {
    expect(await pendingSchemaChanges(ds)).toEqual([]);
  });

  it('run in WAL mode with foreign keys on', async () => {
    expect(await ds.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(await ds.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }]);
  });

  it('store and read back every kind of column', async () => {
    expectRoundTrip(await roundTrip(ds));
  });

  it('are applied once: opening again runs nothing new', async () => {
    const again = await openDatabase({ sqlitePath: join(dir, 'berth.sqlite') });
    expect(await again.showMigrations()).toBe(false);
    await again.destroy();
  });

  it('serialise transactions on the shared connection, so concurrent ones never interleave', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        ds.transaction(async (tx) => {
          await tx.query('CREATE TABLE IF NOT EXISTS t_conc (n integer)');
          await tx.query('INSERT INTO t_conc VALUES (?)', [i]);
          await new Promise((r) => setTimeout(r, 2));
          if (i % 5 === 0) throw new Error(`rollback ${i}`);
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.message)).toEqual([
      'rollback 0',
      'rollback 5',
      'rollback 10',
      'rollback 15',
    ]);
    const rows: { n: number }[] = await ds.query('SELECT n FROM t_conc ORDER BY n');
    expect(rows.map((r) => r.n)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 18, 19]);
  });
});
