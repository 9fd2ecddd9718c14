/**
 * The stack's PostgreSQL roles (cluster-wide), created or brought up to date with their passwords.
 *
 * - jarvis_owner: owns the schema and runs migrations (the only role with DDL on the app schema).
 * - jarvis_app: the application; DML only, through grants the migrations give it.
 * - jarvis_readonly: SELECT only, and every transaction read-only by default.
 * - jarvis_backup: logical dumps (pg_read_all_data).
 * - jarvis_monitor: the exporter and checks (pg_monitor).
 *
 * Passwords never reach the server in clear: the SCRAM-SHA-256 verifier is computed here, so
 * `ALTER ROLE ... PASSWORD` (which pg_stat_statements and the statement log record) only ever
 * carries the verifier. A role whose stored verifier already matches its password is left alone.
 * Roles are cluster-wide and tests run in parallel: every step tolerates a concurrent creator.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import type pg from "pg";
import { JarvisError } from "../errors.ts";
import { ident, literal } from "../pg.ts";

/** Role name -> its key in the passwords object. */
export const ROLE_NAMES = {
  owner: "jarvis_owner",
  app: "jarvis_app",
  readonly: "jarvis_readonly",
  backup: "jarvis_backup",
  monitor: "jarvis_monitor",
} as const;
export type RoleKey = keyof typeof ROLE_NAMES;
export type RolePasswords = Record<RoleKey, string>;

interface RoleSpec {
  /** Role attributes, always stated in full so a hand-made change is undone. */
  attributes: string;
  /** Predefined roles it is a member of. */
  memberOf: string[];
  /** ALTER ROLE ... SET lines (GUC, value). */
  settings: [string, string][];
}

export const ROLE_SPECS: Record<RoleKey, RoleSpec> = {
  owner: {
    attributes: "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT",
    memberOf: [],
    settings: [],
  },
  app: {
    attributes: "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT",
    memberOf: [],
    settings: [],
  },
  readonly: {
    attributes: "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT",
    memberOf: [],
    settings: [["default_transaction_read_only", "on"]],
  },
  backup: {
    attributes: "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT",
    memberOf: ["pg_read_all_data"],
    settings: [],
  },
  // BYPASSRLS: pg_cron keeps its run history behind row-level security (username = current_user),
  // and the CronJobFailed alert needs every job's runs. It lifts only the row filter on tables the
  // role may already read: jarvis_monitor has no grant on the application's tables.
  monitor: {
    attributes: "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS INHERIT",
    memberOf: ["pg_monitor"],
    settings: [],
  },
};

export class RolesError extends JarvisError {
  constructor(message: string) {
    super("JARVIS_ROLES", message);
  }
}

const SCRAM_ITERATIONS = 4096;

function normalize(password: string): string {
  // PostgreSQL applies SASLprep; for ASCII (all generated passwords) it is the identity, and NFKC
  // is its core for the rest.
  return /^[\x20-\x7e]*$/.test(password) ? password : password.normalize("NFKC");
}

/** The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (the format of pg_authid.rolpassword). */
export function scramVerifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = SCRAM_ITERATIONS,
): string {
  const salted = pbkdf2Sync(normalize(password), salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** True when `verifier` (from pg_authid) was made from `password`. */
export function verifierMatches(verifier: string | null, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier ?? "");
  if (!m || !m[1] || !m[2]) return false;
  const again = scramVerifier(password, Buffer.from(m[2], "base64"), Number(m[1]));
  const a = Buffer.from(again);
  const b = Buffer.from(verifier!);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface RoleResult {
  role: string;
  /** created: did not exist; updated: password, attributes or membership changed; unchanged. */
  action: "created" | "updated" | "unchanged";
}

/** Errors a concurrent creator or updater of the same role causes; the step is retried. */
function isRace(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return (
    err.code === "42710" ||
    err.code === "23505" ||
    err.code === "40001" ||
    err.code === "40P01" ||
    /concurrently (updated|deleted)/.test(err.message ?? "")
  );
}

async function retrying<T>(fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!isRace(e) || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 20 * i + Math.random() * 30));
    }
  }
}

function check(passwords: RolePasswords): void {
  const problems = (Object.keys(ROLE_NAMES) as RoleKey[]).filter(
    (k) => typeof passwords[k] !== "string" || passwords[k].length < 16,
  );
  if (problems.length) {
    throw new RolesError(
      `missing or short password for ${problems.map((k) => ROLE_NAMES[k]).join(", ")} (at least 16 characters); set jarvis:secrets.postgres<Role> or let the stack generate it`,
    );
  }
}

/**
 * Creates the five roles or brings them to their declared attributes, memberships and passwords.
 * `superuser` must be connected as a superuser (it reads pg_authid). Safe to run again and
 * concurrently with another run.
 */
export async function ensureRoles(superuser: pg.Client, passwords: RolePasswords): Promise<RoleResult[]> {
  check(passwords);
  const results: RoleResult[] = [];
  for (const key of Object.keys(ROLE_NAMES) as RoleKey[]) {
    const role = ROLE_NAMES[key];
    const spec = ROLE_SPECS[key];
    const password = passwords[key];
    const action = await retrying(async () => {
      const existing = await superuser.query<{ rolpassword: string | null }>(
        "select rolpassword from pg_authid where rolname = $1",
        [role],
      );
      if (existing.rowCount === 0) {
        await superuser.query(
          `create role ${ident(role)} with ${spec.attributes} password ${literal(scramVerifier(password))}`,
        );
        return "created" as const;
      }
      if (verifierMatches(existing.rows[0]?.rolpassword ?? null, password)) {
        // Attributes are restated without a password: cheap, and undoes a hand-made change.
        const changed = await attributesDiffer(superuser, role, spec);
        if (changed) await superuser.query(`alter role ${ident(role)} with ${spec.attributes}`);
        return changed ? ("updated" as const) : ("unchanged" as const);
      }
      await superuser.query(
        `alter role ${ident(role)} with ${spec.attributes} password ${literal(scramVerifier(password))}`,
      );
      return "updated" as const;
    });
    let grew = false;
    for (const parent of spec.memberOf) {
      grew =
        (await retrying(async () => {
          const has = await superuser.query(
            "select 1 from pg_auth_members m join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member where r.rolname = $1 and u.rolname = $2",
            [parent, role],
          );
          if (has.rowCount) return false;
          await superuser.query(`grant ${ident(parent)} to ${ident(role)}`);
          return true;
        })) || grew;
    }
    for (const [guc, value] of spec.settings) {
      grew =
        (await retrying(async () => {
          const cur = await superuser.query<{ setconfig: string[] | null }>(
            "select setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = $1 and s.setdatabase = 0",
            [role],
          );
          if ((cur.rows[0]?.setconfig ?? []).includes(`${guc}=${value}`)) return false;
          await superuser.query(`alter role ${ident(role)} set ${guc} = ${literal(value)}`);
          return true;
        })) || grew;
    }
    results.push({ role, action: action === "unchanged" && grew ? "updated" : action });
  }
  return results;
}

async function attributesDiffer(c: pg.Client, role: string, spec: RoleSpec): Promise<boolean> {
  const { rows } = await c.query(
    "select rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolinherit from pg_roles where rolname = $1",
    [role],
  );
  const r = rows[0];
  if (!r) return true;
  const want = (flag: string) => new RegExp(`(^| )${flag}( |$)`).test(spec.attributes);
  return (
    r.rolcanlogin !== want("LOGIN") ||
    r.rolsuper !== want("SUPERUSER") ||
    r.rolcreatedb !== want("CREATEDB") ||
    r.rolcreaterole !== want("CREATEROLE") ||
    r.rolreplication !== want("REPLICATION") ||
    r.rolbypassrls !== want("BYPASSRLS") ||
    r.rolinherit !== want("INHERIT")
  );
}

/** The role passwords from the stack's secret names (components/secrets.ts). */
export function rolePasswordsFromSecrets(s: {
  postgresOwner: string;
  postgresApp: string;
  postgresReadonly: string;
  postgresBackup: string;
  postgresMonitor: string;
}): RolePasswords {
  return {
    owner: s.postgresOwner,
    app: s.postgresApp,
    readonly: s.postgresReadonly,
    backup: s.postgresBackup,
    monitor: s.postgresMonitor,
  };
}
