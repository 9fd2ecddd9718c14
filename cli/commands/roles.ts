/**
 * `jarvis-data roles apply`: creates or updates the stack's PostgreSQL roles. The stack runs it
 * from a one-shot container of the ops image on the private network (components/postgres.ts).
 */
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { EXIT, UsageError } from "../../core/errors.ts";
import { withClient } from "../../core/pg.ts";
import { ensureRoles, ROLE_NAMES, type RoleKey, type RolePasswords } from "../../core/postgres/roles.ts";
import { need } from "../env.ts";
import { defineCommand } from "../command.ts";

function readSecretFile(path: string, what: string): string {
  if (!existsSync(path))
    throw new UsageError(
      `${what}: no file ${path}; write the password there (one line) or point the variable elsewhere`,
    );
  const value = readFileSync(path, "utf8").replace(/\r?\n$/, "");
  if (!value) throw new UsageError(`${what}: ${path} is empty`);
  return value;
}

/** Passwords from DIR/jarvis_owner, DIR/jarvis_app, ... (one file per role). */
export function readRolePasswords(dir: string): RolePasswords {
  const out = {} as RolePasswords;
  for (const [key, role] of Object.entries(ROLE_NAMES) as [RoleKey, string][])
    out[key] = readSecretFile(join(dir, role), `password of ${role}`);
  return out;
}

export const rolesApply = defineCommand({
  name: "roles apply",
  summary: "create or update the database roles (owner, app, readonly, backup, monitor) with their passwords",
  usage: "jarvis-data roles apply [--passwords-dir DIR] [--password-file FILE] [--json]",
  description: [
    "Connects as a superuser (DATABASE_URL or PG*) and makes jarvis_owner, jarvis_app, jarvis_readonly,",
    "jarvis_backup and jarvis_monitor (member of pg_monitor) exist with the passwords in DIR/<role>",
    "(default: $JARVIS_ROLE_PASSWORDS_DIR). Idempotent; only SCRAM verifiers reach the server.",
    "The superuser's own password may come from --password-file or $PGPASSWORD_FILE.",
  ].join("\n"),
  options: {
    "passwords-dir": {
      type: "string",
      description: "one file per role (default: $JARVIS_ROLE_PASSWORDS_DIR)",
    },
    "password-file": { type: "string", description: "the superuser's password (default: $PGPASSWORD_FILE)" },
  },
  async run(ctx) {
    const dir = ctx.options["passwords-dir"] ?? ctx.env.rolePasswordsDir;
    if (!dir)
      throw new UsageError(
        "no passwords directory: pass --passwords-dir DIR or set JARVIS_ROLE_PASSWORDS_DIR (one file per role, named jarvis_owner, jarvis_app, ...)",
      );
    const passwords = readRolePasswords(dir);
    let url = need(ctx.env.databaseUrl, "DATABASE_URL", "postgresql://postgres@postgres:5432/jarvis");
    const pwFile = ctx.options["password-file"] ?? ctx.env.pgPasswordFile;
    if (pwFile) {
      const u = new URL(url);
      u.password = encodeURIComponent(readSecretFile(pwFile, "superuser password"));
      url = u.toString();
    }
    const results = await withClient(url, (c) => ensureRoles(c, passwords), {
      applicationName: "jarvis-data roles",
    });
    ctx.print({ roles: results }, results.map((r) => `${r.role}: ${r.action}`).join("\n"));
    return EXIT.ok;
  },
});
