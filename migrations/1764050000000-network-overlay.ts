import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * Networks span hosts: each gets a VXLAN network identifier (unique), and a
 * revision of its members that hosts are kept in step with (`syncedRevision` is
 * the last one sent to them).
 */
export class NetworkOverlay1764050000000 implements MigrationInterface {
  name = 'NetworkOverlay1764050000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('networks', [
      new TableColumn({ name: 'vni', type: 'integer', isNullable: true }),
      new TableColumn({ name: 'revision', type: 'integer', default: 0 }),
      new TableColumn({ name: 'syncedRevision', type: 'integer', default: 0 }),
    ]);
    const rows: { id: string }[] = await q.query('SELECT "id" FROM "networks" ORDER BY "createdAt", "id"');
    const pg = q.connection.options.type === 'postgres';
    for (const [i, row] of rows.entries()) {
      await q.query(pg ? 'UPDATE "networks" SET "vni" = $1 WHERE "id" = $2' : 'UPDATE "networks" SET "vni" = ? WHERE "id" = ?', [FIRST_VNI + i, row.id]);
    }
    await q.createIndex('networks', new TableIndex({ name: 'IDX_networks_vni', columnNames: ['vni'], isUnique: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('networks', 'IDX_networks_vni');
    await q.dropColumns('networks', ['syncedRevision', 'revision', 'vni']);
  }
}

/** As FIRST_VNI in the domain (a migration keeps its own copy: it must not change with the code). */
const FIRST_VNI = 4096;
