/**
 * A thin client over Chroma's v2 HTTP API (the JS client insists on embedding functions), and the
 * fingerprint a backup records per collection and a restore recomputes.
 */
import { createHash } from "node:crypto";
import { EXIT, JarvisError, UnavailableError } from "../errors.ts";
import { sha256 } from "./common.ts";

/** Chroma answered an error; `status` is its HTTP status (callers test it, not the text). */
export class ChromaApiError extends JarvisError {
  constructor(
    method: string,
    path: string,
    readonly status: number,
    body: string,
  ) {
    const hint = status === 401 || status === 403 ? "; check CHROMA_TOKEN" : "";
    super(
      "JARVIS_CHROMA_API",
      `Chroma ${method} ${path} answered ${status}: ${body.slice(0, 300)}${hint}`,
      status >= 500 ? EXIT.unavailable : EXIT.failed,
    );
  }
}

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
      throw new ChromaApiError(method, url.replace(this.target.url, ""), res.status, text);
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
  rename(c: CollectionInfo, newName: string): Promise<void> {
    return this.call("PUT", `${this.db}/collections/${c.id}`, { new_name: newName });
  }
  deleteCollection(name: string): Promise<void> {
    return this.call("DELETE", `${this.db}/collections/${encodeURIComponent(name)}`);
  }
  /** Creates the database; `ifMissing`: one that already exists (409) is fine. */
  async createDatabase(opts: { ifMissing?: boolean } = {}): Promise<void> {
    await this.call("POST", `${this.base}/databases`, { name: this.database }).catch((e) => {
      if (!(opts.ifMissing && e instanceof ChromaApiError && e.status === 409)) throw e;
    });
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

/** The collection settings a new collection can be created with (HNSW/SPANN parameters). */
export function creatable(config: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!config) return null;
  const out: Record<string, unknown> = {};
  for (const k of ["hnsw", "spann"]) if (config[k]) out[k] = config[k];
  return Object.keys(out).length ? out : null;
}
