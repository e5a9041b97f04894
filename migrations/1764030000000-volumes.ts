import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/** Named volumes, per team, each on one host. */
export class Volumes1764030000000 implements MigrationInterface {
  name = 'Volumes1764030000000';

  async up(q: QueryRunner): Promise<void> {
    const pg = q.connection.options.type === 'postgres';
    await q.createTable(
      new Table({
        name: 'volumes',
        columns: [
          { name: 'id', type: 'varchar', length: '40', isPrimary: true },
          { name: 'teamId', type: 'varchar', length: '40' },
          { name: 'name', type: 'varchar', length: '128' },
          { name: 'hostId', type: 'varchar', length: '40' },
          { name: 'driver', type: 'varchar', length: '16' },
          { name: 'labels', type: pg ? 'jsonb' : 'text' },
          { name: 'createdAt', type: pg ? 'timestamptz' : 'datetime' },
        ],
        foreignKeys: [
          { columnNames: ['teamId'], referencedTableName: 'teams', referencedColumnNames: ['id'] },
          { columnNames: ['hostId'], referencedTableName: 'hosts', referencedColumnNames: ['id'] },
        ],
        indices: [new TableIndex({ name: 'IDX_volumes_team_name', columnNames: ['teamId', 'name'], isUnique: true })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('volumes');
  }
}
