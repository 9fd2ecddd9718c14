/**
 * Migration files: `NNNN_name.sql` (up) and an optional `NNNN_name.down.sql`, in one directory.
 * Each file's identity is its sha256; headers in its leading comment block tune how it runs:
 *
 *   -- jarvis:no-transaction          run outside a transaction (CREATE INDEX CONCURRENTLY);
 *                                     the file must then hold exactly one statement
 *   -- jarvis:lock-timeout 10s        override the default lock_timeout
 *   -- jarvis:statement-timeout 1h    override the default statement_timeout (0 = none)
 *   -- jarvis:superuser               run on the superuser connection (roles, extensions, grants
 *                                     on parameters); every other file runs logged in as the
 *                                     owner role. Files applied before this header existed are
 *                                     listed by checksum in superuser.ts instead.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { MigrationFileError } from "./errors.ts";
import { listedSuperuser } from "./superuser.ts";

/** sql/migrations of this repository. */
export const DEFAULT_MIGRATIONS_DIR = resolve(import.meta.dirname, "../../sql/migrations");

export interface SqlFile {
  /** File name, e.g. 0002_core_schema.sql */
  file: string;
  path: string;
  sql: string;
  sha256: string;
  noTransaction: boolean;
  /** Runs on the superuser connection (header, or listed in superuser.ts); others run as the owner. */
  superuser: boolean;
  lockTimeout?: string;
  statementTimeout?: string;
}

export interface Migration {
  version: number;
  name: string;
  up: SqlFile;
  down?: SqlFile;
}

const UP = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const DOWN = /^(\d{4})_([a-z0-9_]+)\.down\.sql$/;
const TIMEOUT = /^(0|\d+\s*(ms|s|min|h|d)?)$/;

export function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The `-- jarvis:` headers of the leading comment block. */
function headers(
  file: string,
  sql: string,
): Pick<SqlFile, "noTransaction" | "superuser" | "lockTimeout" | "statementTimeout"> {
  const out: Pick<SqlFile, "noTransaction" | "superuser" | "lockTimeout" | "statementTimeout"> = {
    noTransaction: false,
    superuser: false,
  };
  for (const raw of sql.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (!line.startsWith("--")) break;
    const m = /^--\s*jarvis:([a-z-]+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === "no-transaction") out.noTransaction = true;
    else if (key === "superuser") out.superuser = true;
    else if (key === "lock-timeout" || key === "statement-timeout") {
      if (!TIMEOUT.test(value.trim()))
        throw new MigrationFileError(
          `${file}: -- jarvis:${key} "${value}" is not a duration; write e.g. 10s, 5min, 1h or 0`,
        );
      if (key === "lock-timeout") out.lockTimeout = value.trim();
      else out.statementTimeout = value.trim();
    } else {
      throw new MigrationFileError(
        `${file}: unknown header -- jarvis:${key}; allowed: no-transaction, superuser, lock-timeout, statement-timeout`,
      );
    }
  }
  return out;
}

/**
 * Splits SQL into statements at top-level semicolons, skipping comments, quoted strings,
 * quoted identifiers and dollar-quoted bodies. Empty statements (comments only) are dropped.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  let meaningful = false;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? n : end + 1;
      continue;
    }
    if (c === "/" && next === "*") {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === "/" && sql[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (sql[i] === "*" && sql[i + 1] === "/") {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (c === "'" || c === '"') {
      meaningful = true;
      i++;
      while (i < n) {
        if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
      i++;
      continue;
    }
    if (c === "$") {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (m) {
        meaningful = true;
        const tag = m[0];
        const end = sql.indexOf(tag, i + tag.length);
        i = end === -1 ? n : end + tag.length;
        continue;
      }
    }
    if (c === ";") {
      if (meaningful) out.push(sql.slice(start, i).trim());
      start = i + 1;
      meaningful = false;
      i++;
      continue;
    }
    if (!/\s/.test(c)) meaningful = true;
    i++;
  }
  if (meaningful) out.push(sql.slice(start).trim());
  return out;
}

function readSqlFile(dir: string, file: string): SqlFile {
  const path = join(dir, file);
  const sql = readFileSync(path, "utf8");
  const h = headers(file, sql);
  if (h.noTransaction) {
    const statements = splitStatements(sql);
    if (statements.length !== 1) {
      throw new MigrationFileError(
        `${file} is headed -- jarvis:no-transaction but holds ${statements.length} statements; such a file runs without a transaction, so a failure halfway would leave a partial change: keep exactly one statement per no-transaction file and move the others to their own migration`,
      );
    }
  }
  const hash = sha256(sql);
  return { file, path, sql, sha256: hash, ...h, superuser: h.superuser || listedSuperuser(file, hash) };
}

/** Reads and checks every migration of `dir`, ordered by version. */
export function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Migration[] {
  if (!existsSync(dir))
    throw new MigrationFileError(
      `migrations directory ${dir} does not exist; pass the directory holding NNNN_name.sql files`,
    );
  const names = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  const byVersion = new Map<number, Migration>();
  const downs: [number, string, string][] = [];
  for (const file of names) {
    const down = DOWN.exec(file);
    if (down) {
      downs.push([Number(down[1]), down[2]!, file]);
      continue;
    }
    const up = UP.exec(file);
    if (!up)
      throw new MigrationFileError(
        `${file}: not a migration file name; use NNNN_name.sql (four digits, lowercase letters, digits and _) or NNNN_name.down.sql`,
      );
    const version = Number(up[1]);
    if (version === 0)
      throw new MigrationFileError(
        `${file}: version 0000 is reserved (it means "before every migration"); start at 0001`,
      );
    const clash = byVersion.get(version);
    if (clash)
      throw new MigrationFileError(
        `${file} and ${clash.up.file} share version ${up[1]}; renumber one of them`,
      );
    byVersion.set(version, { version, name: up[2]!, up: readSqlFile(dir, file) });
  }
  for (const [version, name, file] of downs) {
    const m = byVersion.get(version);
    if (!m || m.name !== name)
      throw new MigrationFileError(
        `${file} has no matching up file ${String(version).padStart(4, "0")}_${name}.sql; rename or remove it`,
      );
    m.down = readSqlFile(dir, file);
  }
  return [...byVersion.values()].sort((a, b) => a.version - b.version);
}

/** `file@sha256` for every up file, in order: what identifies the migration set. */
export function migrationManifest(migrations: Migration[]): string[] {
  return migrations.map((m) => `${m.up.file}@${m.up.sha256}`);
}

/** One hash of the whole set (up and down files): changes exactly when a file changes. */
export function manifestHash(migrations: Migration[]): string {
  return sha256(
    migrations
      .map((m) => `${m.up.file}@${m.up.sha256}${m.down ? `|${m.down.file}@${m.down.sha256}` : ""}`)
      .join("\n"),
  );
}

export function versionLabel(version: number): string {
  return String(version).padStart(4, "0");
}
