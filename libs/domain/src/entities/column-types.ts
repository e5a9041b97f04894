import type { ColumnOptions } from 'typeorm';

/**
 * The database kind is fixed for the life of a process (DATABASE_URL), so column
 * types that differ between SQLite and PostgreSQL are chosen once, here.
 */
export function isPostgres(): boolean {
  return /^postgres(ql)?:/.test(process.env.DATABASE_URL ?? '');
}

export function timestampColumn(options: ColumnOptions = {}): ColumnOptions {
  return { type: isPostgres() ? 'timestamptz' : 'datetime', ...options };
}

/** JSON documents: `jsonb` on PostgreSQL, text on SQLite (TypeORM's simple-json). */
export function jsonColumn(options: ColumnOptions = {}): ColumnOptions {
  return { type: isPostgres() ? 'jsonb' : 'simple-json', ...options };
}

/** 64-bit integers: the drivers hand them back as strings; they fit a JS number here (sizes, microsecond sequences). */
export function bigintColumn(options: ColumnOptions = {}): ColumnOptions {
  return { type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | number | null) => (v === null ? v : Number(v)) }, ...options };
}
