import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';

/** Registry credentials per team (sealed), image history, and operation progress. */
export class RegistriesAndPulls1764020000000 implements MigrationInterface {
  name = 'RegistriesAndPulls1764020000000';

  async up(q: QueryRunner): Promise<void> {
    const pg = q.connection.options.type === 'postgres';
    const ts = pg ? 'timestamptz' : 'datetime';
    const json = pg ? 'jsonb' : 'text';
    await q.createTable(
      new Table({
        name: 'registry_credentials',
        columns: [
          { name: 'id', type: 'varchar', length: '40', isPrimary: true },
          { name: 'teamId', type: 'varchar', length: '40' },
          { name: 'server', type: 'varchar', length: '255' },
          { name: 'username', type: 'varchar', length: '255' },
          { name: 'secretSealed', type: 'text' },
          { name: 'createdAt', type: ts },
          { name: 'updatedAt', type: ts },
        ],
        foreignKeys: [{ columnNames: ['teamId'], referencedTableName: 'teams', referencedColumnNames: ['id'] }],
        indices: [new TableIndex({ name: 'IDX_registry_credentials_team_server', columnNames: ['teamId', 'server'], isUnique: true })],
      }),
    );
    await q.addColumn('images', new TableColumn({ name: 'history', type: json, isNullable: true }));
    await q.addColumn('operations', new TableColumn({ name: 'progress', type: json, isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('operations', 'progress');
    await q.dropColumn('images', 'history');
    await q.dropTable('registry_credentials');
  }
}
