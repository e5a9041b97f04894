import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import type { DataSource } from 'typeorm';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startPostgres } = require('../scripts/lib/postgres.cjs') as { startPostgres(o: { dir: string; port: number }): { url: string; stop(): void } };

/**
 * The same migrations on a real PostgreSQL: a private cluster in a temp dir,
 * listening on loopback only, run as the `postgres` user.
 */
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
  let pg: { url: string; stop(): void } | undefined;
  let schema: typeof import('./testing/schema-checks');

  beforeAll(async () => {
    const cluster = startPostgres({ dir, port: await freePort() });
    pg = cluster;
    // Column types are chosen from DATABASE_URL when the entities load: set it first.
    process.env.DATABASE_URL = cluster.url;
    const { openDatabase } = await import('./data-source');
    schema = await import('./testing/schema-checks');
    ds = await openDatabase({ url: process.env.DATABASE_URL, sqlitePath: '' });
  }, 60000);

  afterAll(async () => {
    await ds?.destroy();
    pg?.stop();
    delete process.env.DATABASE_URL;
  });

  it('build exactly the schema the entities describe (nothing left to generate)', async () => {
    expect(await schema.pendingSchemaChanges(ds)).toEqual([]);
  });

  it('store and read back every kind of column', async () => {
    schema.expectRoundTrip(await schema.roundTrip(ds));
  });

  it('give concurrent network creates subnets that never overlap, and distinct VNIs', async () => {
    const { createNetwork } = await import('../apps/api/src/networks/network-allocation');
    const { NetworksRepository } = await import('../apps/api/src/networks/networks.repository');
    const { Transactions } = await import('../apps/api/src/database/transactions');
    const tx = new Transactions(ds);
    const networks = new NetworksRepository(tx);
    const teamId = 'team_pgnetworks';
    await ds.query('INSERT INTO "teams" ("id", "name", "admin", "createdAt") VALUES ($1, $2, false, now())', [teamId, 'pg-networks']);
    const service = {
      create: (_: unknown, request: { name: string; subnet?: string }) =>
        tx.run(() => createNetwork(networks, { teamId, pool: '10.240.0.0/16', request, isDefault: false })),
    };
    const auth = undefined;
    // Different subnets that all overlap 10.77.0.0/16: exactly one may be created.
    const subnets = ['10.77.0.0/16', '10.77.1.0/24', '10.77.2.0/24', '10.77.128.0/17', '10.77.3.0/24', '10.77.0.0/20'];
    const results = await Promise.allSettled(subnets.map((subnet, i) => service.create(auth, { name: `overlap-${i}`, subnet })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ reason: 'SubnetInUse' });
    // Pool allocations at the same instant: distinct subnets and VNIs.
    const pooled = await Promise.all(Array.from({ length: 8 }, (_, i) => service.create(auth, { name: `pooled-${i}` })));
    expect(new Set(pooled.map((n) => n.subnet)).size).toBe(8);
    expect(new Set(pooled.map((n) => n.vni)).size).toBe(8);
    await ds.query('DELETE FROM "networks" WHERE "teamId" = $1', [teamId]);
    await ds.query('DELETE FROM "teams" WHERE "id" = $1', [teamId]);
  });

  it('all undo cleanly', async () => {
    for (let i = 0; i < ds.migrations.length; i++) await ds.undoLastMigration();
    const tables: { table_name: string }[] = await ds.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations'",
    );
    expect(tables).toEqual([]);
  });
});
