import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';

/**
 * The same migrations on a real PostgreSQL: a private cluster in a temp dir,
 * listening on loopback only, run as the `postgres` user.
 */
const PG_BIN = ['/usr/lib/postgresql'].flatMap((root) =>
  existsSync(root) ? readdirSync(root).sort().reverse().map((v) => join(root, v, 'bin')) : [],
).find((bin) => existsSync(join(bin, 'initdb')));

function asPostgres(cmd: string, args: string[]) {
  return execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('migrations on PostgreSQL', () => {
  const dir = mkdtempSync('/var/tmp/berth-pg-');
  let ds: DataSource;
  let schema: typeof import('./testing/schema-checks');

  beforeAll(async () => {
    if (!PG_BIN) throw new Error('PostgreSQL is not installed (npm test installs the postgresql package)');
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
    const port = await freePort();
    asPostgres(join(PG_BIN, 'initdb'), ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off`, 'start']);
    asPostgres(join(PG_BIN, 'createdb'), ['-h', dir, '-p', String(port), 'berth']);
    // Column types are chosen from DATABASE_URL when the entities load: set it first.
    process.env.DATABASE_URL = `postgres://postgres@127.0.0.1:${port}/berth`;
    const { openDatabase } = await import('./data-source');
    schema = await import('./testing/schema-checks');
    ds = await openDatabase({ url: process.env.DATABASE_URL, sqlitePath: '' });
  }, 60000);

  afterAll(async () => {
    await ds?.destroy();
    if (PG_BIN && existsSync(join(dir, 'data', 'postmaster.pid'))) asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
    delete process.env.DATABASE_URL;
    rmSync(dir, { recursive: true, force: true });
  });

  it('build exactly the schema the entities describe (nothing left to generate)', async () => {
    expect(await schema.pendingSchemaChanges(ds)).toEqual([]);
  });

  it('store and read back every kind of column', async () => {
    schema.expectRoundTrip(await schema.roundTrip(ds));
  });

  it('all undo cleanly', async () => {
    for (let i = 0; i < ds.migrations.length; i++) await ds.undoLastMigration();
    const tables: { table_name: string }[] = await ds.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations'");
    expect(tables).toEqual([]);
  });
});
