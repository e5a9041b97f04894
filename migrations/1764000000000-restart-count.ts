import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/** How many times a container's restart policy started it again. */
export class RestartCount1764000000000 implements MigrationInterface {
  name = 'RestartCount1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('containers', new TableColumn({ name: 'restartCount', type: 'integer', default: 0 }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('containers', 'restartCount');
  }
}
