import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/** Teams, tokens, hosts, containers, images and operations. Every row has a team. */
export class InitialSchema1763900000000 implements MigrationInterface {
  name = 'InitialSchema1763900000000';

  async up(q: QueryRunner): Promise<void> {
    const pg = q.connection.options.type === 'postgres';
    const ts = pg ? 'timestamptz' : 'datetime';
    const json = pg ? 'jsonb' : 'text';
    const no = pg ? false : 0; // SQLite keeps booleans as integers
    const id = (name = 'id') => ({ name, type: 'varchar', length: '40', isPrimary: name === 'id' });
    const teamId = { name: 'teamId', type: 'varchar', length: '40' };

    await q.createTable(
      new Table({
        name: 'teams',
        columns: [
          id(),
          { name: 'name', type: 'varchar', length: '63', isUnique: true },
          { name: 'admin', type: 'boolean', default: no },
          { name: 'createdAt', type: ts },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'api_tokens',
        columns: [
          id(),
          teamId,
          { name: 'name', type: 'varchar', length: '100' },
          { name: 'tokenHash', type: 'varchar', length: '64' },
          { name: 'prefix', type: 'varchar', length: '16' },
          { name: 'createdAt', type: ts },
          { name: 'revokedAt', type: ts, isNullable: true },
        ],
        foreignKeys: [{ columnNames: ['teamId'], referencedTableName: 'teams', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
        indices: [
          new TableIndex({ name: 'IDX_api_tokens_hash', columnNames: ['tokenHash'], isUnique: true }),
          new TableIndex({ name: 'IDX_api_tokens_team', columnNames: ['teamId'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'hosts',
        columns: [
          id(),
          teamId,
          { name: 'name', type: 'varchar', length: '63' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'info', type: json },
          { name: 'lastHeartbeatAt', type: ts },
          { name: 'createdAt', type: ts },
        ],
        foreignKeys: [{ columnNames: ['teamId'], referencedTableName: 'teams', referencedColumnNames: ['id'] }],
        indices: [new TableIndex({ name: 'IDX_hosts_team_name', columnNames: ['teamId', 'name'], isUnique: true })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'containers',
        columns: [
          id(),
          teamId,
          { name: 'name', type: 'varchar', length: '128' },
          { name: 'hostId', type: 'varchar', length: '40' },
          { name: 'spec', type: json },
          { name: 'desiredState', type: 'varchar', length: '16' },
          { name: 'generation', type: 'integer' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'exitCode', type: 'integer', isNullable: true },
          { name: 'pid', type: 'integer', isNullable: true },
          { name: 'oomKilled', type: 'boolean', default: no },
          { name: 'error', type: json, isNullable: true },
          { name: 'reportSeq', type: 'bigint', default: 0 },
          { name: 'startedAt', type: ts, isNullable: true },
          { name: 'finishedAt', type: ts, isNullable: true },
          { name: 'createdAt', type: ts },
          { name: 'updatedAt', type: ts },
          { name: 'version', type: 'integer' },
        ],
        foreignKeys: [
          { columnNames: ['teamId'], referencedTableName: 'teams', referencedColumnNames: ['id'] },
          { columnNames: ['hostId'], referencedTableName: 'hosts', referencedColumnNames: ['id'] },
        ],
        indices: [
          new TableIndex({ name: 'IDX_containers_team_name', columnNames: ['teamId', 'name'], isUnique: true }),
          new TableIndex({ name: 'IDX_containers_team_id', columnNames: ['teamId', 'id'] }),
          new TableIndex({ name: 'IDX_containers_host', columnNames: ['hostId'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'images',
        columns: [
          id(),
          teamId,
          { name: 'hostId', type: 'varchar', length: '40' },
          { name: 'digest', type: 'varchar', length: '71' },
          { name: 'configDigest', type: 'varchar', length: '71' },
          { name: 'references', type: json },
          { name: 'sizeBytes', type: 'bigint' },
          { name: 'config', type: json },
          { name: 'os', type: 'varchar', length: '16' },
          { name: 'architecture', type: 'varchar', length: '16' },
          { name: 'createdAt', type: ts },
        ],
        foreignKeys: [
          { columnNames: ['teamId'], referencedTableName: 'teams', referencedColumnNames: ['id'] },
          { columnNames: ['hostId'], referencedTableName: 'hosts', referencedColumnNames: ['id'] },
        ],
        indices: [new TableIndex({ name: 'IDX_images_team_host_digest', columnNames: ['teamId', 'hostId', 'digest'], isUnique: true })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'operations',
        columns: [
          id(),
          teamId,
          { name: 'kind', type: 'varchar', length: '32' },
          { name: 'targetKind', type: 'varchar', length: '16' },
          { name: 'targetId', type: 'varchar', length: '80' },
          { name: 'hostId', type: 'varchar', length: '40' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'error', type: json, isNullable: true },
          { name: 'job', type: json },
          { name: 'result', type: json, isNullable: true },
          { name: 'createdAt', type: ts },
          { name: 'enqueuedAt', type: ts, isNullable: true },
          { name: 'startedAt', type: ts, isNullable: true },
          { name: 'finishedAt', type: ts, isNullable: true },
        ],
        foreignKeys: [{ columnNames: ['teamId'], referencedTableName: 'teams', referencedColumnNames: ['id'] }],
        indices: [
          new TableIndex({ name: 'IDX_operations_team_id', columnNames: ['teamId', 'id'] }),
          new TableIndex({ name: 'IDX_operations_status_created', columnNames: ['status', 'createdAt'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['operations', 'images', 'containers', 'hosts', 'api_tokens', 'teams']) {
      await q.dropTable(table);
    }
  }
}
