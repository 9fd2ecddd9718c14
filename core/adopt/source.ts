/**
 * The legacy database, read through one read-only REPEATABLE READ transaction: every count, batch
 * and checksum of a run sees the same snapshot, and the source cannot be written to (the
 * transaction is READ ONLY, and so is the session's default).
 */
import type pg from "pg";
import { EXIT } from "../errors.ts";
import { redactText } from "../log.ts";
import { connect } from "../pg.ts";
import { AdoptError } from "./errors.ts";
import type { SourceColumns } from "./tables.ts";

export interface Source {
  client: pg.Client;
  /** system_identifier/database: names the source in the progress table. */
  id: string;
  /** The server's TimeZone setting: the default for naive timestamps. */
  serverTimeZone: string;
  /** The zone naive timestamps are read in (--source-timezone, else serverTimeZone). */
  tz: string;
  tables: Record<string, SourceColumns>;
  /** The snapshot's id (pg_export_snapshot): other connections can share it (fork). */
  snapshot: string;
  url: string;
  close(): Promise<void>;
}

const SESSION =
  "set default_transaction_read_only = on; set TimeZone = 'UTC'; set DateStyle = 'ISO, YMD'; set extra_float_digits = 1; set statement_timeout = 0";

/** A postgresql:// URL, or a usage error saying what is wrong. */
export function checkPostgresUrl(url: string | undefined, what: string, flag: string): string {
  if (!url)
    throw new AdoptError(
      "JARVIS_ADOPT_BAD_URL",
      `${flag} is required: the ${what} database's URL, e.g. postgresql://user:pass@host:5432/jarvis_memory`,
      EXIT.usage,
    );
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AdoptError(
      "JARVIS_ADOPT_BAD_URL",
      `${flag} "${redactText(url)}" is not a URL; give postgresql://user:pass@host:5432/dbname`,
      EXIT.usage,
    );
  }
  if (!/^postgres(ql)?:$/.test(u.protocol) || u.pathname.length < 2)
    throw new AdoptError(
      "JARVIS_ADOPT_BAD_URL",
      `${flag} "${redactText(url)}" is not a postgresql:// URL naming a database; give postgresql://user:pass@host:5432/dbname`,
      EXIT.usage,
    );
  return url;
}

async function connectSource(url: string): Promise<pg.Client> {
  try {
    return await connect(url, { applicationName: "jarvis-data adopt (read-only)" });
  } catch (e) {
    throw new AdoptError(
      "JARVIS_ADOPT_SOURCE_UNREACHABLE",
      `the source database at ${redactText(url)} is unreachable (${(e as Error).message}); check --from (host, port, database, role and password) and that the legacy server runs`,
      EXIT.unavailable,
    );
  }
}

async function identity(client: pg.Client): Promise<string> {
  const { rows: db } = await client.query("select current_database() as d");
  try {
    const { rows } = await client.query("select system_identifier::text as s from pg_control_system()");
    return `${rows[0].s}/${db[0].d}`;
  } catch {
    // pg_control_system() may be refused to a plain role: the server's address stands in.
    const { rows } = await client.query(
      "select coalesce(inet_server_addr()::text, 'local') || ':' || current_setting('port') as s",
    );
    return `${rows[0].s}/${db[0].d}`;
  }
}

async function columns(client: pg.Client): Promise<Record<string, SourceColumns>> {
  const { rows } = await client.query(
    `select table_name, column_name, data_type, udt_name from information_schema.columns
      where table_schema = 'public' order by table_name, ordinal_position`,
  );
  const out: Record<string, SourceColumns> = {};
  for (const r of rows)
    (out[r.table_name] ??= {})[r.column_name] = { dataType: r.data_type, udt: r.udt_name };
  return out;
}

/** Opens the source and its snapshot; close() ends both. */
export async function openSource(url: string): Promise<Source> {
  const client = await connectSource(url);
  try {
    const { rows } = await client.query("select current_setting('TimeZone') as tz");
    const id = await identity(client);
    // Text crosses to the target: instants in UTC, ISO dates, shortest exact floats.
    await client.query(SESSION);
    await client.query("begin isolation level repeatable read read only");
    const { rows: snap } = await client.query("select pg_export_snapshot() as s");
    const tables = await columns(client);
    return {
      client,
      id,
      url,
      snapshot: snap[0].s,
      serverTimeZone: rows[0].tz,
      tz: rows[0].tz,
      tables,
      async close() {
        await client.query("rollback").catch(() => {});
        await client.end().catch(() => {});
      },
    };
  } catch (e) {
    await client.end().catch(() => {});
    throw e;
  }
}

/** A time zone name the source knows, or a usage error. */
export async function checkTimeZone(source: Source, tz: string): Promise<void> {
  await source.client.query("savepoint tz");
  try {
    await source.client.query("select now() at time zone $1", [tz]);
    await source.client.query("release savepoint tz");
  } catch {
    await source.client.query("rollback to savepoint tz");
    throw new AdoptError(
      "JARVIS_ADOPT_TIMEZONE",
      `--source-timezone "${tz}" is not a time zone the source server knows; give an IANA name such as Europe/Paris (the legacy server's own is ${source.serverTimeZone})`,
      EXIT.usage,
    );
  }
}

/** A second connection reading the same snapshot (for a table copied in parallel). */
export async function forkSource(source: Source): Promise<Source> {
  const client = await connectSource(source.url);
  try {
    await client.query(SESSION);
    await client.query("begin isolation level repeatable read read only");
    await client.query(`set transaction snapshot '${source.snapshot.replace(/'/g, "")}'`);
  } catch (e) {
    await client.end().catch(() => {});
    throw e;
  }
  return {
    ...source,
    client,
    async close() {
      await client.query("rollback").catch(() => {});
      await client.end().catch(() => {});
    },
  };
}
