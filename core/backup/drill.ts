/**
 * Recovery drills (A7, A9): restore the newest valid backup of each store into a scratch target
 * and prove it usable. Checks: the manifest's checksums (every object re-read), row/key/record
 * counts, constraints validated, migration version, and a vector query that answers. The restore
 * time is the measured RTO; the backup's age when the drill ran is the RPO. Scratch targets are
 * removed. One sequence (`drillStore`) for every store; each store gives its restore-and-check step.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JarvisError } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import { ident, withClient } from "../pg.ts";
import { noProgress, type Progress, type ProgressUnit } from "../progress.ts";
import { ChromaApi, restoreChroma, type ChromaTarget } from "./chroma.ts";
import {
  findBackup,
  readManifest,
  type BackupKind,
  type BackupRef,
  type Manifest,
  type StoreName,
} from "./manifest.ts";
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
  /** A role that may create roles and databases, on the server the scratch database goes to. */
  postgresUrl?: string;
  /** The Chroma server to create the scratch database on. */
  chroma?: ChromaTarget;
  log?: Logger;
  now?: () => Date;
  /** A progress line per store restored (core/progress.ts); default none. */
  progress?: (label: string, unit?: ProgressUnit) => Progress;
}

/** What a store's step gets: the backup, its manifest, where to put its checks. */
interface StepContext {
  o: DrillOptions;
  ref: BackupRef;
  manifest: Manifest;
  checks: DrillCheck[];
  progress: Progress;
}

/** The sequence every store's drill follows. */
async function drillStore(
  o: DrillOptions,
  store: StoreName,
  checks: DrillCheck[],
  step: { kind?: BackupKind; unit?: ProgressUnit; run: (s: StepContext) => Promise<void> },
): Promise<Partial<DrillResult>> {
  // The newest backup whose manifest is valid.
  const ref = await findBackup(o.store, store, undefined, step.kind);
  const manifest = await readManifest(o.store, ref);
  // Every object re-read against the manifest; a bad one ends the drill here.
  const v = await verifyBackup(o.store, store, ref.id, { throwOnFailure: false });
  const problems = v.problems.map((p) => `${p.object}: ${p.problem}`).join("; ");
  checks.push({
    name: "manifest checksums",
    ok: v.ok,
    detail: v.ok ? `${v.files} objects, ${v.bytes} B` : problems,
  });
  if (!v.ok) return { id: ref.id };
  // Restore into the scratch target and check it (timed: the RTO).
  const t0 = performance.now();
  const progress = (o.progress ?? (() => noProgress))(`drill ${store}`, step.unit);
  await step.run({ o, ref, manifest, checks, progress });
  const now = (o.now?.() ?? new Date()).getTime();
  return {
    id: ref.id,
    rtoSeconds: (performance.now() - t0) / 1000,
    rpoSeconds: (now - Date.parse(manifest.finishedAt)) / 1000,
  };
}

/**
 * A login role that exists for one drill: not a superuser, no CREATEDB, no CREATEROLE. The
 * scratch database is created for it by the admin and owned by it, so the dump from the bucket
 * is loaded with this role's rights only (--no-owner --no-privileges). Dropped afterwards.
 */
export async function withDrillRole<T>(
  adminUrl: string,
  fn: (role: { name: string; password: string }) => Promise<T>,
): Promise<T> {
  const role = {
    name: `jarvis_drill_${randomBytes(4).toString("hex")}`,
    password: randomBytes(18).toString("hex"),
  };
  const admin = withDatabase(adminUrl, "postgres");
  const attributes = "login nosuperuser nocreatedb nocreaterole noreplication nobypassrls";
  await withClient(admin, (c) =>
    c.query(`create role ${ident(role.name)} ${attributes} password ${c.escapeLiteral(role.password)}`),
  );
  try {
    return await fn(role);
  } finally {
    await withClient(admin, (c) => c.query(`drop role if exists ${ident(role.name)}`)).catch(() => {});
  }
}

/** `url`'s server and `database`, as `role`. */
export function asRole(url: string, role: { name: string; password: string }, database: string): string {
  const u = new URL(withDatabase(url, database));
  u.username = encodeURIComponent(role.name);
  u.password = encodeURIComponent(role.password);
  return u.toString();
}

async function postgresStep(s: StepContext): Promise<void> {
  const adminUrl = s.o.postgresUrl!;
  const scratch = `jarvis_drill_${randomBytes(4).toString("hex")}`;
  await withDrillRole(adminUrl, async (role) => {
    const url = asRole(adminUrl, role, scratch);
    try {
      const r = await restorePostgresLogical({
        ...{ store: s.o.store, id: s.ref.id, log: s.o.log, progress: s.progress },
        ...{ targetUrl: url, adminUrl, noOwner: true },
      });
      const tables = Object.keys(r.rowCounts ?? {}).length;
      s.checks.push({ name: "row counts", ok: true, detail: `${tables} tables match the manifest` });
      await withClient(url, (c) => checkDatabase(c, s));
    } finally {
      // Before the role: a role that owns a database cannot be dropped.
      await withClient(withDatabase(adminUrl, "postgres"), (c) =>
        c.query(`drop database if exists ${ident(scratch)} with (force)`),
      ).catch(() => {});
    }
  });
}

async function checkDatabase(c: import("pg").Client, s: StepContext): Promise<void> {
  const bad = await invalidConstraints(c);
  const valid = bad.length ? `not validated: ${bad.join(", ")}` : "every constraint validated";
  s.checks.push({ name: "constraints valid", ok: bad.length === 0, detail: valid });
  const version = await schemaVersion(c);
  const want = s.manifest.schemaVersion;
  s.checks.push({
    name: "migration version",
    ok: version === want,
    detail: `restored ${version ?? "none"}, backup ${want ?? "none"}`,
  });
  const probe = await vectorProbe(c);
  s.checks.push({
    name: "vector query",
    ok: probe === null || probe.rows > 0,
    detail: probe
      ? `${probe.table}.${probe.column}: ${probe.rows} nearest rows`
      : "no vector column with rows",
  });
}

async function redisStep(s: StepContext): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), "jarvis-drill-redis-"));
  try {
    await downloadBackup(s.o.store, s.ref, s.manifest, tmp, s.progress);
    // The scratch target: a throwaway redis-server loading the snapshot.
    const server = await serveRdb(join(tmp, "dump.rdb"));
    try {
      const want = s.manifest.keys ?? {};
      s.checks.push({
        name: "key counts",
        ok: missingKeys(want, server.keys).length === 0,
        detail: `loaded ${JSON.stringify(server.keys)}, backup ${JSON.stringify(want)}`,
      });
    } finally {
      await server.stop();
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function chromaStep(s: StepContext): Promise<void> {
  const scratch: ChromaTarget = {
    ...s.o.chroma!,
    database: `jarvis_drill_${randomBytes(4).toString("hex")}`,
  };
  const api = new ChromaApi(scratch);
  try {
    await restoreChroma({
      store: s.o.store,
      id: s.ref.id,
      target: scratch,
      createDatabase: true,
      log: s.o.log,
      progress: s.progress,
    });
    const n = s.manifest.collections?.length ?? 0;
    s.checks.push({
      name: "record counts and checksums",
      ok: true,
      detail: `${n} collections match the manifest`,
    });
    s.checks.push(await chromaQueryCheck(api));
  } finally {
    await api.deleteDatabase().catch(() => {});
  }
}

/** The first record of the first non-empty collection is its own nearest neighbour. */
async function chromaQueryCheck(api: ChromaApi): Promise<DrillCheck> {
  for (const c of await api.collections()) {
    const first = await api.get(c, 0, 1);
    if (!first.ids.length) continue;
    const q = await api.query(c, first.embeddings[0]!, 3);
    return {
      name: "vector query",
      ok: (q.ids[0]?.length ?? 0) > 0 && q.ids[0]![0] === first.ids[0],
      detail: `${c.name}: nearest of ${first.ids[0]} is ${q.ids[0]?.[0]}`,
    };
  }
  return { name: "vector query", ok: true, detail: "no collection with records" };
}

function drillConfigError(what: string): JarvisError {
  return new JarvisError(
    "JARVIS_DRILL_CONFIG",
    `the ${what} drill needs a server to restore into: ${
      what === "postgres"
        ? "set DATABASE_URL (a role that may create roles and databases: the drill makes a throwaway role and database)"
        : "set CHROMA_URL"
    }`,
  );
}

function drillOne(o: DrillOptions, s: StoreName, checks: DrillCheck[]): Promise<Partial<DrillResult>> {
  if (s === "postgres") {
    if (!o.postgresUrl) throw drillConfigError("postgres");
    return drillStore(o, s, checks, { kind: "logical", run: postgresStep });
  }
  if (s === "redis") return drillStore(o, s, checks, { run: redisStep });
  if (!o.chroma) throw drillConfigError("chroma");
  return drillStore(o, s, checks, { unit: "rows", run: chromaStep });
}

/** Runs the drill of each store in turn; never throws for a store's failure, reports it. */
export async function drill(o: DrillOptions): Promise<DrillResult[]> {
  const log = o.log ?? silentLogger;
  const results: DrillResult[] = [];
  for (const s of o.stores) {
    const checks: DrillCheck[] = [];
    try {
      const r = await drillOne(o, s, checks);
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
