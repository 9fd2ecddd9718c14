/** A20 PostgreSQL figures, read from a live server: up, size, connections, largest tables, data directory. */
import pg from "pg";
import { redactText } from "../log.ts";

export interface TableSize {
  /** schema.table */
  name: string;
  totalBytes: number;
  /** Estimated rows (pg_class.reltuples; -1 when never analyzed). */
  estimatedRows: number;
}

export type PostgresStatus =
  | {
      up: true;
      version: string;
      database: string;
      sizeBytes: number;
      connections: { used: number; max: number; percent: number };
      largestTables: TableSize[];
      /** data_directory, when the role may read it (pg_monitor may). */
      dataDirectory: string | null;
    }
  | { up: false; error: string };

/**
 * Connects with `url` (jarvis_monitor is enough: pg_monitor) and reads the figures. Never throws:
 * an unreachable server is `{ up: false, error }`, the error without credentials.
 */
export async function postgresStatus(
  url: string,
  opts: { timeoutMs?: number } = {},
): Promise<PostgresStatus> {
  const client = new pg.Client({
    connectionString: url,
    application_name: "jarvis-data status",
    connectionTimeoutMillis: opts.timeoutMs ?? 5000,
    statement_timeout: opts.timeoutMs ?? 5000,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    const base = await client.query<{
      version: string;
      database: string;
      size: string;
      used: string;
      max: string;
      data_directory: string | null;
    }>(
      `select current_setting('server_version') as version,
              current_database() as database,
              pg_database_size(current_database())::text as size,
              (select count(*) from pg_stat_activity where backend_type = 'client backend')::text as used,
              current_setting('max_connections') as max,
              current_setting('data_directory', true) as data_directory`,
    );
    const tables = await client.query<{ name: string; total: string; rows: string }>(
      `select format('%s.%s', n.nspname, c.relname) as name, pg_total_relation_size(c.oid)::text as total, c.reltuples::bigint::text as rows
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p', 'm')
          and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
          and not c.relispartition
        order by pg_total_relation_size(c.oid) desc, 1
        limit 5`,
    );
    const b = base.rows[0]!;
    const used = Number(b.used);
    const max = Number(b.max);
    return {
      up: true,
      version: b.version,
      database: b.database,
      sizeBytes: Number(b.size),
      connections: { used, max, percent: Math.round((1000 * used) / max) / 10 },
      largestTables: tables.rows.map((r) => ({
        name: r.name,
        totalBytes: Number(r.total),
        estimatedRows: Number(r.rows),
      })),
      dataDirectory: b.data_directory || null,
    };
  } catch (e) {
    return { up: false, error: redactText((e as Error).message || String(e)) };
  } finally {
    await client.end().catch(() => {});
  }
}
