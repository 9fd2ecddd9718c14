/**
 * The two connections of a migration run (issue 16, item 3):
 * - the main one (the superuser in the stack): the advisory lock, the history table, restore
 *   points, and the few files that need a superuser (superuser.ts);
 * - the owner's, LOGGED IN as the owner role: every other file. A trigger, policy or function
 *   the owner planted then runs in a session whose authenticated user is the owner, so RESET ROLE
 *   or RESET SESSION AUTHORIZATION give it nothing more. (A superuser session that SET ROLE to
 *   the owner is no protection: a planted body resets the role and acts as the superuser.)
 * An owner-run file writes its history row on the owner's connection, in its own transaction, so
 * a migration stays applied and recorded whole or not at all: the main connection grants the
 * owner SELECT, INSERT, DELETE on the history table (it stays the superuser's: the owner cannot
 * put a trigger or a policy on it).
 */
import type pg from "pg";
import { silentLogger, type Logger } from "../log.ts";
import { connect, ident } from "../pg.ts";
import { MigrationRequestError } from "./errors.ts";
import type { SqlFile } from "./files.ts";
import { HISTORY_TABLE } from "./history.ts";

export interface SessionOptions {
  /** URL logged in as the owner role (the stack: jarvis_owner); files not marked superuser run there. */
  ownerUrl?: string;
  /** Without ownerUrl, refuse (prod) instead of warning when the main session is a superuser. */
  requireOwner?: boolean;
  log?: Logger;
}

const WHO = `select session_user::text as who, current_database()::text as db,
  (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = session_user) as super`;

async function who(client: pg.Client): Promise<{ who: string; db: string; super: boolean }> {
  const { rows } = await client.query(WHO);
  return rows[0];
}

export class MigrationSessions {
  private owner?: pg.Client;

  constructor(
    readonly main: pg.Client,
    private readonly opts: SessionOptions,
  ) {}

  /** Before anything runs: without an owner connection, warn (or refuse) if the main one is a superuser. */
  async check(files: SqlFile[]): Promise<void> {
    if (this.opts.ownerUrl) return;
    const asOwner = files.filter((f) => !f.superuser);
    if (asOwner.length === 0) return;
    const me = await who(this.main);
    if (!me.super) return;
    const message = `migrations would run as the superuser ${me.who} with no owner connection: ${asOwner.map((f) => f.file).join(", ")} would run in a superuser session, where a trigger, policy or function the owner role planted could RESET ROLE and make itself superuser; set JARVIS_MIGRATE_OWNER_URL (or JARVIS_MIGRATE_OWNER_URL_FILE) to a URL logged in as jarvis_owner`;
    if (this.opts.requireOwner)
      throw new MigrationRequestError(`refused (JARVIS_ENVIRONMENT=prod): ${message}`);
    (this.opts.log ?? silentLogger).warn(message);
  }

  /** The connection `file` runs on. */
  async clientFor(file: SqlFile): Promise<pg.Client> {
    if (file.superuser || !this.opts.ownerUrl) return this.main;
    this.owner ??= await this.openOwner(this.opts.ownerUrl);
    return this.owner;
  }

  private async openOwner(url: string): Promise<pg.Client> {
    const c = await connect(url, { applicationName: "jarvis-data migrate (owner)" });
    try {
      const [owner, main] = [await who(c), await who(this.main)];
      if (owner.super)
        throw new MigrationRequestError(
          `the owner connection logs in as ${owner.who}, a superuser: it would give owner-planted code a superuser session; set JARVIS_MIGRATE_OWNER_URL to a URL logged in as jarvis_owner`,
        );
      if (owner.db !== main.db)
        throw new MigrationRequestError(
          `the owner connection is to database ${owner.db}, the migrations to ${main.db}; point JARVIS_MIGRATE_OWNER_URL at ${main.db}`,
        );
      await this.main.query(`grant select, insert, delete on ${HISTORY_TABLE} to ${ident(owner.who)}`);
      return c;
    } catch (e) {
      await c.end().catch(() => {});
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.owner?.end().catch(() => {});
    this.owner = undefined;
  }
}

/** Runs `fn` with the run's connections (sessions.ts), after checking who would run `files`. */
export async function withSessions<T>(
  client: pg.Client,
  opts: SessionOptions,
  files: SqlFile[],
  fn: (sessions: MigrationSessions) => Promise<T>,
): Promise<T> {
  const sessions = new MigrationSessions(client, opts);
  try {
    await sessions.check(files);
    return await fn(sessions);
  } finally {
    await sessions.close();
  }
}
