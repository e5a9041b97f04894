import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/** Teams get a policy: whether their containers may be privileged or add capabilities. */
export class TeamPolicy1763990000000 implements MigrationInterface {
  name = 'TeamPolicy1763990000000';

  async up(q: QueryRunner): Promise<void> {
    const json = q.connection.options.type === 'postgres' ? 'jsonb' : 'text';
    await q.addColumn('teams', new TableColumn({ name: 'policy', type: json, isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('teams', 'policy');
  }
}
