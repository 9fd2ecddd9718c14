/**
 * Chroma backups. Chroma has no backup API, and copying its files from a live server corrupts
 * them, so a backup is an export through the HTTP API: per collection, its definition and its
 * records in batches (ids, embeddings, documents, metadatas), with a record count and a checksum
 * of the collection's canonical content. A restore imports into an empty database (tenant/db)
 * and proves itself by recomputing every collection's count and checksum.
 */
import { createHash } from "node:crypto";
import { JarvisError, RefusedError, UnavailableError } from "../errors.ts";
import { silentLogger, type Logger } from "../log.ts";
import {
  beginBackup,
  findBackup,
  readManifest,
  completeBackup,
  type Manifest,
  type ManifestFile,
} from "./manifest.ts";
import { RestoreMismatchError, type BackupResult, type RestoreResult } from "./postgres-logical.ts";
import { sha256, type BackupStore } from "./store.ts";

export interface ChromaTarget {
  /** http[s]://host:port of the server (or the token gateway). */
  url: string;
  token?: string;
  tenant?: string;
  database?: string;
}

export interface CollectionInfo {
  id: string;
  name: string;
  metadata: Record<string, unknown> | null;
  configuration_json?: Record<string, unknown> | null;
}

export interface Batch {
  ids: string[];
  embeddings: number[][];
  documents: (string | null)[];
  metadatas: (Record<string, unknown> | null)[];
}

/** A thin client over Chroma's v2 HTTP API (the JS client insists on embedding functions). */
export class ChromaApi {
  readonly tenant: string;
  readonly database: string;
  constructor(readonly target: ChromaTarget) {
    this.tenant = target.tenant ?? "default_tenant";
    this.database = target.database ?? "default_database";
  }
  private get base() {
    return `${this.target.url.replace(/\/$/, "")}/api/v2/tenants/${encodeURIComponent(this.tenant)}`;
  }
  private get db() {
    return `${this.base}/databases/${encodeURIComponent(this.database)}`;
  }
  async call<T>(method: string, url: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          "content-type": "application/json",
          ...(this.target.token ? { "x-chroma-token": this.target.token } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (e) {
      throw new UnavailableError(
        `Chroma at ${this.target.url}`,
        e,
        "check CHROMA_URL and that the server runs",
      );
    }
    const text = await res.text();
    if (!res.ok) {
      throw new JarvisError(
        "JARVIS_CHROMA_API",
        `Chroma ${method} ${url.replace(this.target.url, "")} answered ${res.status}: ${text.slice(0, 300)}${res.status === 401 || res.status === 403 ? "; check CHROMA_TOKEN" : ""}`,
        res.status >= 500 ? 3 : 1,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
  async collections(): Promise<CollectionInfo[]> {
    const out: CollectionInfo[] = [];
    for (let offset = 0; ; offset += 100) {
      const page = await this.call<CollectionInfo[]>(
        "GET",
        `${this.db}/collections?limit=100&offset=${offset}`,
      );
      out.push(...page);
      if (page.length < 100) return out.sort((a, b) => a.name.localeCompare(b.name));
    }
  }
  count(c: CollectionInfo): Promise<number> {
    return this.call<number>("GET", `${this.db}/collections/${c.id}/count`);
  }
  get(c: CollectionInfo, offset: number, limit: number): Promise<Batch> {
    return this.call<Batch>("POST", `${this.db}/collections/${c.id}/get`, {
      limit,
      offset,
      include: ["embeddings", "documents", "metadatas"],
    });
  }
  add(c: CollectionInfo, b: Batch): Promise<void> {
    return this.call("POST", `${this.db}/collections/${c.id}/add`, b);
  }
  query(c: CollectionInfo, embedding: number[], n: number): Promise<{ ids: string[][] }> {
    return this.call("POST", `${this.db}/collections/${c.id}/query`, {
      query_embeddings: [embedding],
      n_results: n,
      include: ["distances"],
    });
  }
  create(
    name: string,
    metadata: Record<string, unknown> | null,
    configuration: Record<string, unknown> | null,
  ): Promise<CollectionInfo> {
    return this.call("POST", `${this.db}/collections`, {
      name,
      ...(metadata ? { metadata } : {}),
      ...(configuration ? { configuration } : {}),
    });
  }
  deleteCollection(name: string): Promise<void> {
    return this.call("DELETE", `${this.db}/collections/${encodeURIComponent(name)}`);
  }
  async createDatabase(): Promise<void> {
    await this.call("POST", `${this.base}/databases`, { name: this.database });
  }
  async deleteDatabase(): Promise<void> {
    await this.call("DELETE", this.db);
  }
}

/** Canonical JSON: object keys sorted, so equal content gives equal bytes. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

/**
 * A collection's fingerprint, independent of record order: sha256 over the sorted per-record
 * hashes of (id, document, metadata), which round-trip byte for byte, and two sums over the
 * embeddings. Chroma does not give back the float32 it was given (a cosine collection's vectors
 * come back a unit in the last place away, 0.14112002 for 0.14112), so embeddings are compared
 * by value within float32 precision rather than by hash.
 */
export class CollectionDigest {
  private hashes: string[] = [];
  private sum = 0;
  private weighted = 0;
  private abs = 0;
  add(b: Batch) {
    b.ids.forEach((id, i) => {
      this.hashes.push(sha256(canonical([id, b.documents?.[i] ?? null, b.metadatas?.[i] ?? null])));
      (b.embeddings?.[i] ?? []).forEach((v, d) => {
        this.sum += v;
        this.weighted += v * ((d % 97) + 1);
        this.abs += Math.abs(v) * ((d % 97) + 1);
      });
    });
  }
  get count() {
    return this.hashes.length;
  }
  result(name: string): CollectionFingerprint {
    const h = createHash("sha256");
    for (const x of this.hashes.sort()) h.update(x);
    return {
      name,
      count: this.hashes.length,
      checksum: h.digest("hex"),
      embeddingSum: this.sum,
      embeddingWeightedSum: this.weighted,
      embeddingScale: this.abs,
    };
  }
}

export interface CollectionFingerprint {
  name: string;
  count: number;
  /** sha256 of ids, documents and metadatas. */
  checksum: string;
  embeddingSum: number;
  embeddingWeightedSum: number;
  /** Σ|v|·w: the tolerance of the sums scales with it. */
  embeddingScale: number;
}

/** Differences between two fingerprints of the same collection, as sentences. */
export function compareFingerprints(
  want: CollectionFingerprint,
  got: CollectionFingerprint | undefined,
): string[] {
  if (!got) return [`collection ${want.name} is missing`];
  if (got.count !== want.count)
    return [`collection ${want.name} has ${got.count} records, expected ${want.count}`];
  const out: string[] = [];
  if (got.checksum !== want.checksum)
    out.push(`collection ${want.name}: ids, documents or metadatas differ (checksum)`);
  const tol = want.embeddingScale * 1e-6 + 1e-9; // float32 has 24 bits: ~6e-8 relative per value
  if (
    Math.abs(got.embeddingSum - want.embeddingSum) > tol ||
    Math.abs(got.embeddingWeightedSum - want.embeddingWeightedSum) > tol
  ) {
    out.push(`collection ${want.name}: embeddings differ beyond float32 precision`);
  }
  return out;
}

/** Count and checksum of every collection, read through the API in batches. */
export async function chromaContents(api: ChromaApi, batchSize = 1000): Promise<CollectionFingerprint[]> {
  const out = [];
  for (const c of await api.collections()) {
    const d = new CollectionDigest();
    for (let offset = 0; ; offset += batchSize) {
      const b = await api.get(c, offset, batchSize);
      d.add(b);
      if (b.ids.length < batchSize) break;
    }
    out.push(d.result(c.name));
  }
  return out;
}

export interface ChromaBackupOptions {
  source: ChromaTarget;
  store: BackupStore;
  /** Records per batch object. Default 1000. */
  batchSize?: number;
  log?: Logger;
  now?: Date;
  beforeManifest?: (id: string) => Promise<void>;
}

export async function backupChroma(opts: ChromaBackupOptions): Promise<BackupResult> {
  const log = opts.log ?? silentLogger;
  const { started, t0, id, tier, dir } = beginBackup("chroma", "export", opts.now);
  const api = new ChromaApi(opts.source);
  const batchSize = opts.batchSize ?? 1000;
  const files: ManifestFile[] = [];
  const collections: NonNullable<Manifest["collections"]> = [];
  const put = async (path: string, data: unknown) => {
    const body = Buffer.from(JSON.stringify(data));
    await opts.store.putBuffer(dir + path, body, "application/json");
    files.push({ path, size: body.length, sha256: sha256(body) });
  };
  try {
    for (const c of await api.collections()) {
      const expected = await api.count(c);
      const digest = new CollectionDigest();
      let n = 0;
      for (let offset = 0; ; offset += batchSize) {
        const b = await api.get(c, offset, batchSize);
        if (b.ids.length === 0) break;
        digest.add(b);
        await put(`collections/${c.name}/batch-${String(n++).padStart(6, "0")}.json`, {
          ids: b.ids,
          embeddings: b.embeddings,
          documents: b.documents,
          metadatas: b.metadatas,
        });
        if (b.ids.length < batchSize) break;
      }
      if (digest.count !== expected) {
        throw new JarvisError(
          "JARVIS_CHROMA_CHANGED",
          `collection ${c.name} changed during the export (${digest.count} records read, ${expected} counted); run the backup again at a quiet time`,
        );
      }
      await put(`collections/${c.name}/collection.json`, {
        name: c.name,
        metadata: c.metadata,
        configuration: c.configuration_json ?? null,
        batches: n,
        count: digest.count,
      });
      collections.push(digest.result(c.name));
      log.info("chroma collection exported", { collection: c.name, records: digest.count, batches: n });
    }
    await opts.beforeManifest?.(id);
    const manifest = await completeBackup(opts.store, {
      id,
      store: "chroma",
      kind: "export",
      tier,
      started,
      t0,
      files,
      schemaVersion: null,
      collections,
      source: { url: new URL(opts.source.url).origin, tenant: api.tenant, database: api.database },
      tools: { export: "jarvis-data (Chroma v2 API)" },
    });
    const { totalBytes: bytes, durationSeconds } = manifest;
    return {
      id,
      store: "chroma",
      kind: "export",
      tier,
      files: files.length,
      bytes,
      durationSeconds,
      manifest,
    };
  } catch (e) {
    await opts.store.deletePrefix(dir).catch(() => {});
    throw e;
  }
}

/** The collection settings a new collection can be created with (HNSW/SPANN parameters). */
export function creatable(config: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!config) return null;
  const out: Record<string, unknown> = {};
  for (const k of ["hnsw", "spann"]) if (config[k]) out[k] = config[k];
  return Object.keys(out).length ? out : null;
}

export interface ChromaRestorePlan {
  store: "chroma";
  backup: string;
  target: string;
  overwrites: { collection: string; records: number }[] | null;
}

export interface ChromaRestoreOptions {
  store: BackupStore;
  id?: string;
  target: ChromaTarget;
  /** Must equal the target database's name when it holds collections. */
  confirm?: string;
  /** Create the target database when it does not exist. */
  createDatabase?: boolean;
  log?: Logger;
  onPlan?: (plan: ChromaRestorePlan) => void;
}

export async function restoreChroma(opts: ChromaRestoreOptions): Promise<RestoreResult> {
  const log = opts.log ?? silentLogger;
  const t0 = performance.now();
  const ref = await findBackup(opts.store, "chroma", opts.id);
  const manifest = await readManifest(opts.store, ref);
  const api = new ChromaApi(opts.target);
  if (opts.createDatabase)
    await api
      .createDatabase()
      .catch((e) => (/409|already exists/i.test((e as Error).message) ? undefined : Promise.reject(e)));
  const existing = await api.collections();
  const overwrites = existing.length
    ? await Promise.all(existing.map(async (c) => ({ collection: c.name, records: await api.count(c) })))
    : null;
  opts.onPlan?.({ store: "chroma", backup: ref.id, target: api.database, overwrites });
  if (overwrites && opts.confirm !== api.database) {
    throw new RefusedError(
      `refusing to restore into Chroma database "${api.database}": it holds ${overwrites.length} collections (${overwrites.map((o) => `${o.collection}: ${o.records}`).join(", ")}), which would be deleted. To do it anyway, pass --confirm ${api.database}`,
    );
  }
  const byPath = new Map(manifest.files.map((f) => [f.path, f]));
  const fetchJson = async <T>(path: string): Promise<T> => {
    const f = byPath.get(path);
    if (!f)
      throw new JarvisError(
        "JARVIS_BACKUP_CORRUPT",
        `chroma backup ${ref.id} lists no ${path}; the backup is incomplete: restore another one`,
      );
    const body = await opts.store.getBuffer(ref.dir + path);
    if (sha256(body) !== f.sha256)
      throw new JarvisError(
        "JARVIS_BACKUP_CORRUPT",
        `${opts.store.url(ref.dir + path)} is corrupt: sha256 does not match the manifest; restore another backup`,
      );
    return JSON.parse(body.toString("utf8")) as T;
  };
  for (const c of existing) {
    log.warn("deleting collection", { collection: c.name, database: api.database });
    await api.deleteCollection(c.name);
  }
  for (const col of manifest.collections ?? []) {
    const def = await fetchJson<{
      name: string;
      metadata: Record<string, unknown> | null;
      configuration: Record<string, unknown> | null;
      batches: number;
    }>(`collections/${col.name}/collection.json`);
    const created = await api.create(def.name, def.metadata, creatable(def.configuration));
    for (let i = 0; i < def.batches; i++) {
      const b = await fetchJson<Batch>(`collections/${col.name}/batch-${String(i).padStart(6, "0")}.json`);
      await api.add(created, b);
    }
    log.info("chroma collection imported", { collection: col.name, records: col.count });
  }
  const after = await chromaContents(api);
  const problems = (manifest.collections ?? []).flatMap((want) =>
    compareFingerprints(
      want,
      after.find((a) => a.name === want.name),
    ),
  );
  if (problems.length)
    throw new RestoreMismatchError(`Chroma database "${api.database}" restored from ${ref.id}`, problems);
  return { id: ref.id, target: api.database, durationSeconds: (performance.now() - t0) / 1000 };
}
