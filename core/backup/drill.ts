/**
 * Recovery drills (S7, S9): restore the latest backup of each store into a scratch target and
 * prove it usable. Checks: the manifest's checksums (every object re-read), row/key/record counts,
 * constraints validated, migration version, and a vector query that answers. The restore time is
 * the measured RTO; the backup's age when the drill ran is the RPO. Scratch targets are removed.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JarvisError } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import { withClient, ident } from "../pg.ts";
import { noProgress, type Progress, type ProgressUnit } from "../progress.ts";
import { ChromaApi, restoreChroma, type ChromaTarget } from "./chroma.ts";
import { findBackup, readManifest, type StoreName } from "./manifest.ts";
import { invalidConstraints, schemaVersion, vectorProbe } from "./pg-inspect.ts";
import { restorePostgresLogical } from "./postgres-logical.ts";
import { withDatabase } from "./proc.ts";
import { missingKeys } from "./redis.ts";
import { serveRdb } from "./redis-server.ts";
import { downloadBackup } from "./run.ts";
import { type BackupStore } from "./store.ts";
import { verifyBackup } from "./verify.ts";

export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DrillResult {
  store: StoreName;
  ok: boolean;
  id?: string;
  /** Seconds from the start of the restore to a usable, checked target. */
  rtoSeconds?: number;
  /** Age of the restored backup when the drill ran. */
  rpoSeconds?: number;
  checks: DrillCheck[];
  error?: string;
}

export interface DrillOptions {
  store: BackupStore;
  stores: StoreName[];
  /** A superuser (or CREATEDB) URL on the server to create the scratch database on. */
  postgresUrl?: string;
  /** The Chroma server to create the scratch database on. */
  chroma?: ChromaTarget;
  log?: Logger;
  now?: () => Date;
  /** A progress line per store restored (core/progress.ts); default none. */
  progress?: (label: string, unit?: ProgressUnit) => Progress;
}

/**
 * A login role that exists for one drill: not a superuser, no CREATEDB, no CREATEROLE. The
 * scratch database is created for it by the admin and owned by it, so the dump from the bucket
 * is loaded with this role's rights only (--no-owner --no-privileges). Dropped afterwards.
 */
async function withDrillRole<T>(
  adminUrl: string,
  fn: (role: { name: string; password: string }) => Promise<T>,
): Promise<T> {
  const role = {
    name: `jarvis_drill_${randomBytes(4).toString("hex")}`,
    password: randomBytes(18).toString("hex"),
  };
  const admin = withDatabase(adminUrl, "postgres");
  await withClient(admin, (c) =>
    c.query(
      `create role ${ident(role.name)} login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password ${c.escapeLiteral(role.password)}`,
    ),
  );
  try {
    return await fn(role);
  } finally {
    await withClient(admin, (c) => c.query(`drop role if exists ${ident(role.name)}`)).catch(() => {});
  }
}

function asRole(url: string, role: { name: string; password: string }, database: string): string {
  const u = new URL(withDatabase(url, database));
  u.username = encodeURIComponent(role.name);
  u.password = encodeURIComponent(role.password);
  return u.toString();
}

async function drillPostgres(o: DrillOptions, checks: DrillCheck[]): Promise<Partial<DrillResult>> {
  if (!o.postgresUrl)
    throw new JarvisError(
      "JARVIS_DRILL_CONFIG",
      "the postgres drill needs a server to restore into: set DATABASE_URL (a role that may create roles and databases: the drill makes a throwaway role and database)",
    );
  const ref = await findBackup(o.store, "postgres", undefined, "logical");
  const manifest = await readManifest(o.store, ref);
  const v = await verifyBackup(o.store, "postgres", ref.id, { throwOnFailure: false });
  checks.push({
    name: "manifest checksums",
    ok: v.ok,
    detail: v.ok
      ? `${v.files} objects, ${v.bytes} B`
      : v.problems.map((p) => `${p.object}: ${p.problem}`).join("; "),
  });
  if (!v.ok) return { id: ref.id };
  const scratch = `jarvis_drill_${randomBytes(4).toString("hex")}`;
  const adminUrl = o.postgresUrl;
  const t0 = performance.now();
  try {
    return await withDrillRole(adminUrl, async (role) => {
      const url = asRole(adminUrl, role, scratch);
      const r = await restorePostgresLogical({
        store: o.store,
        id: ref.id,
        targetUrl: url,
        adminUrl,
        noOwner: true,
        log: o.log,
        progress: (o.progress ?? (() => noProgress))("drill postgres"),
      });
      checks.push({
        name: "row counts",
        ok: true,
        detail: `${Object.keys(r.rowCounts ?? {}).length} tables match the manifest`,
      });
      await withClient(url, async (c) => {
        const bad = await invalidConstraints(c);
        checks.push({
          name: "constraints valid",
          ok: bad.length === 0,
          detail: bad.length ? `not validated: ${bad.join(", ")}` : "every constraint validated",
        });
        const version = await schemaVersion(c);
        checks.push({
          name: "migration version",
          ok: version === manifest.schemaVersion,
          detail: `restored ${version ?? "none"}, backup ${manifest.schemaVersion ?? "none"}`,
        });
        const probe = await vectorProbe(c);
        checks.push({
          name: "vector query",
          ok: probe === null || probe.rows > 0,
          detail: probe
            ? `${probe.table}.${probe.column}: ${probe.rows} nearest rows`
            : "no vector column with rows",
        });
      });
      return {
        id: ref.id,
        rtoSeconds: (performance.now() - t0) / 1000,
        rpoSeconds: ((o.now?.() ?? new Date()).getTime() - Date.parse(manifest.finishedAt)) / 1000,
      };
    });
  } finally {
    await withClient(withDatabase(adminUrl, "postgres"), (c) =>
      c.query(`drop database if exists ${ident(scratch)} with (force)`),
    ).catch(() => {});
  }
}

async function drillRedis(o: DrillOptions, checks: DrillCheck[]): Promise<Partial<DrillResult>> {
  const ref = await findBackup(o.store, "redis");
  const manifest = await readManifest(o.store, ref);
  const v = await verifyBackup(o.store, "redis", ref.id, { throwOnFailure: false });
  checks.push({
    name: "manifest checksums",
    ok: v.ok,
    detail: v.ok
      ? `${v.files} objects, ${v.bytes} B`
      : v.problems.map((p) => `${p.object}: ${p.problem}`).join("; "),
  });
  if (!v.ok) return { id: ref.id };
  const t0 = performance.now();
  const tmp = await mkdtemp(join(tmpdir(), "jarvis-drill-redis-"));
  try {
    await downloadBackup(o.store, ref, manifest, tmp, (o.progress ?? (() => noProgress))("drill redis"));
    // The scratch target: a throwaway redis-server loading the snapshot.
    const server = await serveRdb(join(tmp, "dump.rdb"));
    try {
      const want = manifest.keys ?? {};
      const bad = missingKeys(want, server.keys);
      checks.push({
        name: "key counts",
        ok: bad.length === 0,
        detail: `loaded ${JSON.stringify(server.keys)}, backup ${JSON.stringify(want)}`,
      });
    } finally {
      await server.stop();
    }
    return {
      id: ref.id,
      rtoSeconds: (performance.now() - t0) / 1000,
      rpoSeconds: ((o.now?.() ?? new Date()).getTime() - Date.parse(manifest.finishedAt)) / 1000,
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function drillChroma(o: DrillOptions, checks: DrillCheck[]): Promise<Partial<DrillResult>> {
  if (!o.chroma)
    throw new JarvisError(
      "JARVIS_DRILL_CONFIG",
      "the chroma drill needs a server to restore into: set CHROMA_URL",
    );
  const ref = await findBackup(o.store, "chroma");
  const manifest = await readManifest(o.store, ref);
  const v = await verifyBackup(o.store, "chroma", ref.id, { throwOnFailure: false });
  checks.push({
    name: "manifest checksums",
    ok: v.ok,
    detail: v.ok
      ? `${v.files} objects, ${v.bytes} B`
      : v.problems.map((p) => `${p.object}: ${p.problem}`).join("; "),
  });
  if (!v.ok) return { id: ref.id };
  const scratch: ChromaTarget = { ...o.chroma, database: `jarvis_drill_${randomBytes(4).toString("hex")}` };
  const api = new ChromaApi(scratch);
  const t0 = performance.now();
  try {
    await restoreChroma({
      store: o.store,
      id: ref.id,
      target: scratch,
      createDatabase: true,
      log: o.log,
      progress: (o.progress ?? (() => noProgress))("drill chroma", "rows"),
    });
    checks.push({
      name: "record counts and checksums",
      ok: true,
      detail: `${manifest.collections?.length ?? 0} collections match the manifest`,
    });
    let answered: DrillCheck = { name: "vector query", ok: true, detail: "no collection with records" };
    for (const c of await api.collections()) {
      const first = await api.get(c, 0, 1);
      if (!first.ids.length) continue;
      const q = await api.query(c, first.embeddings[0]!, 3);
      answered = {
        name: "vector query",
        ok: (q.ids[0]?.length ?? 0) > 0 && q.ids[0]![0] === first.ids[0],
        detail: `${c.name}: nearest of ${first.ids[0]} is ${q.ids[0]?.[0]}`,
      };
      break;
    }
    checks.push(answered);
    return {
      id: ref.id,
      rtoSeconds: (performance.now() - t0) / 1000,
      rpoSeconds: ((o.now?.() ?? new Date()).getTime() - Date.parse(manifest.finishedAt)) / 1000,
    };
  } finally {
    await api.deleteDatabase().catch(() => {});
  }
}

/** Runs the drill of each store in turn; never throws for a store's failure, reports it. */
export async function drill(o: DrillOptions): Promise<DrillResult[]> {
  const log = o.log ?? silentLogger;
  const results: DrillResult[] = [];
  for (const s of o.stores) {
    const checks: DrillCheck[] = [];
    try {
      const r =
        s === "postgres"
          ? await drillPostgres(o, checks)
          : s === "redis"
            ? await drillRedis(o, checks)
            : await drillChroma(o, checks);
      const ok = checks.length > 0 && checks.every((c) => c.ok);
      results.push({ store: s, ok, checks, ...r });
      (ok ? log.info : log.error)(`drill ${s}: ${ok ? "passed" : "FAILED"}`, {
        id: r.id,
        rtoSeconds: r.rtoSeconds?.toFixed(1),
        failed: checks.filter((c) => !c.ok).map((c) => c.name),
      });
    } catch (e) {
      results.push({ store: s, ok: false, checks, error: (e as Error).message });
      log.error(`drill ${s}: FAILED`, { error: (e as Error).message });
    }
  }
  return results;
}
