import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/** Bridge networks per team, and the addresses their endpoints hold. */
export class Networks1764040000000 implements MigrationInterface {
  name = 'Networks1764040000000';

  async up(q: QueryRunner): Promise<void> {
    const pg = q.connection.options.type === 'postgres';
    const ts = pg ? 'timestamptz' : 'datetime';
    const json = pg ? 'jsonb' : 'text';
    const no = pg ? false : 0;
    await q.createTable(
      new Table({
        name: 'networks',
        columns: [
          { name: 'id', type: 'varchar', length: '40', isPrimary: true },
          { name: 'teamId', type: 'varchar', length: '40' },
          { name: 'name', type: 'varchar', length: '128' },
          { name: 'driver', type: 'varchar', length: '16' },
          { name: 'subnet', type: 'varchar', length: '18', isUnique: true },
          { name: 'gateway', type: 'varchar', length: '15' },
          { name: 'ipRange', type: 'varchar', length: '18', isNullable: true },
          { name: 'internal', type: 'boolean', default: no },
          { name: 'isDefault', type: 'boolean', default: no },
          { name: 'bridge', type: 'varchar', length: '15', isUnique: true },
          { name: 'labels', type: json },
          { name: 'createdAt', type: ts },
        ],
        foreignKeys: [{ columnNames: ['teamId'], referencedTableName: 'teams', referencedColumnNames: ['id'] }],
        indices: [new TableIndex({ name: 'IDX_networks_team_name', columnNames: ['teamId', 'name'], isUnique: true })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'network_endpoints',
        columns: [
          { name: 'id', type: 'varchar', length: '40', isPrimary: true },
          { name: 'teamId', type: 'varchar', length: '40' },
          { name: 'networkId', type: 'varchar', length: '40' },
          { name: 'containerId', type: 'varchar', length: '40' },
          { name: 'hostId', type: 'varchar', length: '40' },
          { name: 'ipAddress', type: 'varchar', length: '15' },
          { name: 'aliases', type: json },
          { name: 'createdAt', type: ts },
        ],
        foreignKeys: [
          { columnNames: ['teamId'], referencedTableName: 'teams', referencedColumnNames: ['id'] },
          { columnNames: ['networkId'], referencedTableName: 'networks', referencedColumnNames: ['id'] },
        ],
        indices: [
          new TableIndex({ name: 'IDX_network_endpoints_network_ip', columnNames: ['networkId', 'ipAddress'], isUnique: true }),
          new TableIndex({ name: 'IDX_network_endpoints_network_container', columnNames: ['networkId', 'containerId'], isUnique: true }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('network_endpoints');
    await q.dropTable('networks');
  }
}
