/**
 * `adopt chroma --from <persistent dir>`: the application's old `./memory` directory is copied,
 * the copy served by a throwaway Chroma (`chroma run --path COPY --port N`; the original is never
 * opened), every collection exported through the API and upserted into the stack's Chroma
 * (CHROMA_URL + token), then verified by count and fingerprint (core/backup/chroma.ts's digest).
 *
 * The stack's Chroma retention (core/retention/chroma.ts) needs, per record, `category`,
 * `created_at` (epoch seconds, a number) and `importance` (a number). They are derived where the
 * audit's layout keeps them (see deriveMetadata and docs/runbooks/adopt.md); nothing the record
 * already says is overwritten.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  ChromaApi,
  CollectionDigest,
  compareFingerprints,
  creatable,
  type Batch,
  type CollectionInfo,
} from "../backup/chroma-api.ts";
import { EXIT } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import { AdoptError } from "./errors.ts";

/** The memory categories of the audit's retention (A15): one collection each in its layout. */
export const CATEGORIES = ["conversations", "commands", "preferences", "patterns", "knowledge"];
/** The audit's default importance (MemoryEntryValidator: importance = 0.5). */
export const DEFAULT_IMPORTANCE = 0.5;

type Meta = Record<string, unknown>;

/** Epoch seconds of a wall-clock time (no offset) in `tz`. */
export function zonedEpoch(naive: string, tz: string): number {
  const asUtc = Date.parse(`${naive.replace(" ", "T")}Z`);
  const fmt = new Intl.DateTimeFormat("en-US", {
    timeZone: tz,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const offsetAt = (t: number) => {
    const p = Object.fromEntries(fmt.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    return (
      Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!) -
      Math.floor(t / 1000) * 1000
    );
  };
  const guess = asUtc - offsetAt(asUtc);
  return Math.floor((asUtc - offsetAt(guess)) / 1000);
}

/** A time value as epoch seconds: numbers (seconds or milliseconds) and ISO strings. */
export function toEpochSeconds(v: unknown, tz: string): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return Math.floor(v > 1e12 ? v / 1000 : v);
  if (typeof v !== "string" || !/^\d{4}-\d{2}-\d{2}/.test(v)) return null;
  if (/(Z|[+-]\d{2}:?\d{2})$/.test(v)) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : Math.floor(t / 1000);
  }
  const e = zonedEpoch(v.length === 10 ? `${v}T00:00:00` : v, tz);
  return Number.isNaN(e) ? null : e;
}

/**
 * The metadata the stack's retention reads, derived from the audit's layout:
 *  - category: the record's own, else the collection's name when it is a category;
 *  - created_at: the record's created_at, else its timestamp, else its date, as epoch seconds
 *    (a string is kept as created_at_original);
 *  - importance: the record's number (or numeric string), else 0.5, the audit's default.
 */
export function deriveMetadata(meta: Meta | null, collection: string, tz: string): Meta {
  const m: Meta = { ...(meta ?? {}) };
  const cat = CATEGORIES.find((c) => collection === c || collection.endsWith(`_${c}`));
  if (typeof m.category !== "string" && cat) m.category = cat;
  if (typeof m.created_at !== "number") {
    const from = [m.created_at, m.timestamp, m.date]
      .map((v) => toEpochSeconds(v, tz))
      .find((v) => v !== null);
    if (from !== undefined && from !== null) {
      if (m.created_at !== undefined) m.created_at_original = m.created_at;
      m.created_at = from;
    }
  }
  if (typeof m.importance !== "number") {
    const n =
      typeof m.importance === "string" && /^\s*[0-9]*\.?[0-9]+\s*$/.test(m.importance)
        ? Number(m.importance)
        : NaN;
    if (m.importance !== undefined && Number.isNaN(n)) m.importance_original = m.importance;
    m.importance = Number.isNaN(n) ? DEFAULT_IMPORTANCE : n;
  }
  return m;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (a && typeof a === "object" ? ok(a.port) : fail(new Error("no port"))));
    });
    s.on("error", fail);
  });
}

/** A throwaway Chroma on a copy of `dir`. */
export async function serveChromaCopy(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  if (!existsSync(join(dir, "chroma.sqlite3")))
    throw new AdoptError(
      "JARVIS_ADOPT_BAD_SOURCE",
      `--from ${dir} is not a Chroma persistent directory (no chroma.sqlite3 in it); give the application's old ./memory directory`,
      EXIT.usage,
    );
  const bin = resolve(import.meta.dirname, "../../node_modules/.bin/chroma");
  const copy = await mkdtemp(join(tmpdir(), "jarvis-adopt-chroma-"));
  await cp(dir, join(copy, "data"), { recursive: true });
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [bin, "run", "--path", join(copy, "data"), "--host", "127.0.0.1", "--port", String(port)],
    {
      stdio: "ignore",
      env: { ...process.env, CHROMA_TELEMETRY: "false", ANONYMIZED_TELEMETRY: "false" },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null)
      await new Promise<void>((ok) => (child.once("exit", () => ok()), child.kill("SIGTERM")));
    await rm(copy, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + 60_000; ;) {
    if (
      await fetch(`${url}/api/v2/heartbeat`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new AdoptError(
        "JARVIS_ADOPT_SOURCE_UNREACHABLE",
        `a throwaway Chroma could not open the copy of ${dir}; check it is a Chroma 1.x directory (the chroma CLI comes with npm ci)`,
        EXIT.unavailable,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface AdoptChromaOptions {
  from: string;
  /** The stack's Chroma (CHROMA_URL, through its token gateway) and the database to fill. */
  target: { url: string; token?: string; database?: string };
  force?: boolean;
  /** Zone of naive timestamps in the metadata (default UTC). */
  sourceTimeZone?: string;
  batch?: number;
  log?: Logger;
}

export interface AdoptChromaCollection {
  source: number;
  imported: number;
  derived: { category: number; createdAt: number; importance: number };
  /** Records without any time to derive created_at from: the retention never removes them. */
  withoutCreatedAt: number;
  checksumMatch: boolean;
}

export interface AdoptChromaResult {
  collections: Record<string, AdoptChromaCollection>;
  mismatches: string[];
  seconds: number;
}

function transform(b: Batch, collection: string, tz: string, r: AdoptChromaCollection): Batch {
  const metadatas = b.metadatas.map((m) => {
    const d = deriveMetadata(m, collection, tz);
    if (m?.category === undefined && d.category !== undefined) r.derived.category++;
    if (typeof m?.created_at !== "number" && typeof d.created_at === "number") r.derived.createdAt++;
    if (typeof d.created_at !== "number") r.withoutCreatedAt++;
    if (typeof m?.importance !== "number") r.derived.importance++;
    return d;
  });
  return { ...b, metadatas };
}

async function foreignRecords(target: ChromaApi, c: CollectionInfo, sourceIds: Set<string>): Promise<number> {
  let foreign = 0;
  for (let offset = 0; ; offset += 1000) {
    const b = await target.call<{ ids: string[] }>("POST", `${targetDb(target)}/collections/${c.id}/get`, {
      limit: 1000,
      offset,
      include: [],
    });
    foreign += b.ids.filter((id) => !sourceIds.has(id)).length;
    if (b.ids.length < 1000) return foreign;
  }
}

const targetDb = (api: ChromaApi) =>
  `${api.target.url.replace(/\/$/, "")}/api/v2/tenants/${encodeURIComponent(api.tenant)}/databases/${encodeURIComponent(api.database)}`;

async function adoptCollection(
  src: ChromaApi,
  dst: ChromaApi,
  c: CollectionInfo,
  o: AdoptChromaOptions,
): Promise<AdoptChromaCollection> {
  const batch = o.batch ?? 500;
  const r: AdoptChromaCollection = {
    source: await src.count(c),
    imported: 0,
    derived: { category: 0, createdAt: 0, importance: 0 },
    withoutCreatedAt: 0,
    checksumMatch: false,
  };
  const batches: Batch[] = [];
  for (let offset = 0; ; offset += batch) {
    const b = await src.get(c, offset, batch);
    batches.push(transform(b, c.name, o.sourceTimeZone ?? "UTC", r));
    if (b.ids.length < batch) break;
  }
  const existing = (await dst.collections()).find((x) => x.name === c.name);
  if (existing && !o.force) {
    const foreign = await foreignRecords(dst, existing, new Set(batches.flatMap((b) => b.ids)));
    if (foreign)
      throw new AdoptError(
        "JARVIS_ADOPT_TARGET_NOT_EMPTY",
        `the stack's Chroma collection ${c.name} holds ${foreign} records the source does not have; adopt into a fresh collection, or pass --force to add to them`,
        EXIT.refused,
      );
  }
  const into = existing ?? (await dst.create(c.name, c.metadata, creatable(c.configuration_json ?? null)));
  const want = new CollectionDigest();
  for (const b of batches) {
    want.add(b);
    await dst.call("POST", `${targetDb(dst)}/collections/${into.id}/upsert`, b);
    r.imported += b.ids.length;
  }
  // The stack's copy, restricted to the source's ids (--force may have added to other records).
  const ids = new Set(batches.flatMap((b) => b.ids));
  const got = new CollectionDigest();
  for (let offset = 0; ; offset += batch) {
    const b = await dst.get(into, offset, batch);
    const keep = b.ids.flatMap((id, i) => (ids.has(id) ? [i] : []));
    got.add({
      ids: keep.map((i) => b.ids[i]!),
      embeddings: keep.map((i) => b.embeddings[i]!),
      documents: keep.map((i) => b.documents[i] ?? null),
      metadatas: keep.map((i) => b.metadatas[i] ?? null),
    });
    if (b.ids.length < batch) break;
  }
  const problems = compareFingerprints(want.result(c.name), got.result(c.name));
  r.checksumMatch = problems.length === 0 && r.imported === r.source;
  return r;
}

export async function adoptChroma(o: AdoptChromaOptions): Promise<AdoptChromaResult> {
  const t0 = performance.now();
  const log = o.log ?? silentLogger;
  const served = await serveChromaCopy(o.from);
  const result: AdoptChromaResult = { collections: {}, mismatches: [], seconds: 0 };
  try {
    const src = new ChromaApi({ url: served.url });
    const dst = new ChromaApi({
      url: o.target.url,
      ...(o.target.token ? { token: o.target.token } : {}),
      ...(o.target.database ? { database: o.target.database } : {}),
    });
    for (const c of await src.collections()) {
      const r = await adoptCollection(src, dst, c, o);
      result.collections[c.name] = r;
      log.info(`chroma ${c.name}: adopted`, { ...r.derived, records: r.imported });
      if (!r.checksumMatch)
        result.mismatches.push(
          `collection ${c.name}: the stack's copy differs from the source (count or fingerprint)`,
        );
    }
  } finally {
    await served.stop();
  }
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}
