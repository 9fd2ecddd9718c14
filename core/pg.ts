/** PostgreSQL connections for every tool of the stack: one way to connect, one way to fail. */
import pg from "pg";
import { RefusedError, UnavailableError } from "./errors.ts";
import { redactText } from "./log.ts";

export type Client = pg.Client;
export type Pool = pg.Pool;

const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ETIMEDOUT",
  "ECONNRESET",
  "57P03",
  "3D000",
  "28P01",
  "28000",
]);

/** Opens a client, or throws UnavailableError naming the server (never the password) and the fix. */
export async function connect(url: string, opts: { applicationName?: string } = {}): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    application_name: opts.applicationName ?? "jarvis-data",
    connectionTimeoutMillis: 10_000,
  });
  client.on("error", () => {}); // a dropped connection surfaces on the next query instead of crashing
  try {
    await client.connect();
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    if (UNREACHABLE.has(code) || /connect|password|does not exist/i.test((e as Error).message)) {
      throw new UnavailableError(
        `PostgreSQL at ${redactText(url)}`,
        e,
        "check DATABASE_URL (or PG*), that the server runs, and the role's password",
      );
    }
    throw e;
  }
  return client;
}

/** Runs `fn` with a connected client and always closes it. */
export async function withClient<T>(
  url: string,
  fn: (c: pg.Client) => Promise<T>,
  opts?: { applicationName?: string },
): Promise<T> {
  const client = await connect(url, opts);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Quotes an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal (for the few statements that take no parameters, e.g. ALTER ROLE ... PASSWORD). */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Refuses a session whose user is a superuser before it runs code that jarvis_owner owns and can
 * replace (functions, triggers, CHECKs): a planted body would run as the superuser, RESET ROLE
 * included. `command` names what refuses, `runs` what it would run.
 */
export async function refuseSuperuser(client: pg.Client, command: string, runs: string): Promise<void> {
  const { rows } = await client.query(
    "select session_user as u, (select rolsuper from pg_roles where rolname = session_user) as su",
  );
  if (rows[0].su)
    throw new RefusedError(
      `${command} is connected as the superuser "${rows[0].u}": it would run ${runs} that jarvis_owner owns and can replace, as a superuser; set DATABASE_URL to jarvis_owner's connection`,
    );
}
