import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/** The health check's verdict for a container's current start. */
export class ContainerHealth1764010000000 implements MigrationInterface {
  name = 'ContainerHealth1764010000000';

  async up(q: QueryRunner): Promise<void> {
    const json = q.connection.options.type === 'postgres' ? 'jsonb' : 'text';
    await q.addColumn('containers', new TableColumn({ name: 'health', type: json, isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('containers', 'health');
  }
}
