/**
 * Issue 16, item 3, the migration runner's door: `migrate apply` connected as the superuser and
 * the files SET LOCAL ROLE jarvis_owner, so a trigger jarvis_owner planted on a table a migration
 * writes ran in a session whose authenticated user was the superuser: RESET ROLE, then ALTER ROLE
 * jarvis_owner SUPERUSER. Files now run logged in as the owner, except the listed superuser ones.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_MIGRATIONS_DIR, apply, down, loadMigrations, readHistory } from "../core/migrate/index.ts";
import type { Logger } from "../core/log.ts";
import { withClient } from "../core/pg.ts";
import { createDatabase, useServices } from "./harness/index.ts";

const { postgres } = await useServices("postgres");

const ownerUrl = (db: string) => postgres.url(db, "jarvis_owner", postgres.roles.owner);

async function ownerIsSuperuser(): Promise<boolean> {
  return withClient(postgres.url(), async (c) => {
    const { rows } = await c.query("select rolsuper from pg_roles where rolname = 'jarvis_owner'");
    return rows[0].rolsuper;
  });
}

/** The repository's migrations plus a backfill that writes the table the owner planted a trigger on. */
function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "migsec-"));
  cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  writeFileSync(
    join(dir, "0900_backfill_preferences.sql"),
    "SET LOCAL ROLE jarvis_owner;\nUPDATE public.preferences SET v = 'backfilled';\n",
  );
  return dir;
}

// SECURITY INVOKER (the default): it runs as whoever the session really is. The exception
// handler makes the attack silent, so the migration succeeds either way.
const PLANT = `
create table public.preferences (id int primary key, v text);
insert into public.preferences values (1, 'old');
create function public.preferences_touch() returns trigger language plpgsql as $$
begin
  begin
    reset role;
    alter role jarvis_owner superuser;
  exception when insufficient_privilege then
    null;
  end;
  return new;
end $$;
create trigger preferences_touch before update on public.preferences
  for each row execute function public.preferences_touch();`;

test("a trigger the owner planted on a table a migration writes cannot make the owner superuser", async (t) => {
  const db = await createDatabase(postgres, "migsec");
  const dir = scratchDir();
  t.after(async () => {
    // Roles are cluster-wide: never leave the owner superuser for the other tests (before the fix).
    await withClient(postgres.url(), (c) => c.query("alter role jarvis_owner nosuperuser"));
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  });
  assert.equal(await ownerIsSuperuser(), false, "jarvis_owner starts as a plain role");
  await withClient(db.url, (c) => apply(c, { ownerUrl: ownerUrl(db.name) }));
  await withClient(ownerUrl(db.name), (c) => c.query(PLANT));

  const r = await withClient(db.url, (c) => apply(c, { dir, ownerUrl: ownerUrl(db.name) }));

  assert.equal(await ownerIsSuperuser(), false, "the planted trigger made jarvis_owner superuser");
  assert.deepEqual(
    r.applied.map((m) => m.file),
    ["0900_backfill_preferences.sql"],
  );
  await withClient(db.url, async (c) => {
    const { rows } = await c.query("select v from public.preferences");
    assert.deepEqual(rows, [{ v: "backfilled" }], "the backfill ran, as the owner");
    const history = await readHistory(c);
    assert.equal(history.find((h) => h.version === 900)?.appliedBy, "jarvis_owner");
  });
});

test("every file runs logged in as the owner except the listed superuser ones, up and down", async (t) => {
  const db = await createDatabase(postgres, "migsec");
  t.after(() => db.drop());
  const r = await withClient(db.url, (c) => apply(c, { ownerUrl: ownerUrl(db.name) }));
  assert.equal(r.applied.length, loadMigrations().length);
  const history = await withClient(db.url, readHistory);
  const bySuperuser = history.filter((h) => h.appliedBy === postgres.user).map((h) => h.version);
  assert.deepEqual(bySuperuser, [1, 5, 100, 107]);
  assert.ok(
    history.filter((h) => !bySuperuser.includes(h.version)).every((h) => h.appliedBy === "jarvis_owner"),
  );
  // The history table stays the superuser's: the owner may write rows, not plant a trigger on it.
  await withClient(ownerUrl(db.name), async (c) => {
    await assert.rejects(
      c.query(
        "create trigger t before insert on public.jarvis_schema_migrations for each row execute function suppress_redundant_updates_trigger()",
      ),
      /permission denied|must be owner/,
    );
  });
  const d = await withClient(db.url, (c) => down(c, { to: 0, ownerUrl: ownerUrl(db.name) }));
  assert.equal(d.current, 0);
});

test("without an owner connection a superuser run warns naming the risk, and is refused when required (prod)", async (t) => {
  const db = await createDatabase(postgres, "migsec");
  t.after(() => db.drop());
  const warnings: string[] = [];
  const log: Logger = { info() {}, error() {}, warn: (m) => void warnings.push(m) };
  await assert.rejects(
    withClient(db.url, (c) => apply(c, { requireOwner: true, log })),
    (e: Error & { code?: string }) =>
      e.code === "JARVIS_MIGRATION_REQUEST" && /JARVIS_MIGRATE_OWNER_URL/.test(e.message),
  );
  assert.equal((await withClient(db.url, readHistory)).length, 0, "refused before anything ran");
  await withClient(db.url, (c) => apply(c, { log }));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /RESET ROLE.*JARVIS_MIGRATE_OWNER_URL/);
});

test("an owner URL that logs in as a superuser is refused", async (t) => {
  const db = await createDatabase(postgres, "migsec");
  t.after(() => db.drop());
  await assert.rejects(
    withClient(db.url, (c) => apply(c, { ownerUrl: db.url })),
    (e: Error & { code?: string }) => e.code === "JARVIS_MIGRATION_REQUEST" && /a superuser/.test(e.message),
  );
});

test("a new file headed -- jarvis:superuser runs on the superuser connection, the others as the owner", async (t) => {
  const db = await createDatabase(postgres, "migsec");
  const dir = mkdtempSync(join(tmpdir(), "migsec-"));
  t.after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  });
  writeFileSync(join(dir, "0001_needs_superuser.sql"), "-- jarvis:superuser\nselect 1;\n");
  writeFileSync(join(dir, "0002_plain.sql"), "select 1;\n");
  assert.deepEqual(
    loadMigrations(dir).map((m) => m.up.superuser),
    [true, false],
  );
  await withClient(db.url, (c) => apply(c, { dir, ownerUrl: ownerUrl(db.name) }));
  const history = await withClient(db.url, readHistory);
  assert.deepEqual(
    history.map((h) => h.appliedBy),
    [postgres.user, "jarvis_owner"],
  );
});
