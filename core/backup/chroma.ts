/**
 * Chroma backups. Chroma has no backup API, and copying its files from a live server corrupts
 * them, so a backup is an export through the HTTP API: per collection, its definition and its
 * records in batches (ids, embeddings, documents, metadatas), with a record count and a checksum
 * of the collection's canonical content.
 *
 * A restore imports every collection under a side name `<name>_restoring_<hex>` and proves it by
 * recomputing its count and checksum; only then are the target's collections renamed
 * `<name>_replaced_<hex>`, the side ones renamed to their real names, and the replaced ones
 * deleted. A failure before that point deletes the side collections and leaves the target as it was.
 */
import { randomBytes } from "node:crypto";
import { JarvisError } from "../errors.ts";
import {
  ChromaApi,
  CollectionDigest,
  compareFingerprints,
  creatable,
  type Batch,
  type ChromaTarget,
  type CollectionFingerprint,
  type CollectionInfo,
} from "./chroma-api.ts";
import { checkObject, sha256, type BackupResult, type RestoreResult } from "./common.ts";
import type { BackupDriver, LoadContext, RestoreDriver } from "./driver.ts";
import type { Manifest, ManifestFile } from "./manifest.ts";
import {
  runBackup,
  runRestore,
  type RestorePlan,
  type RunBackupOptions,
  type StoreRestoreOptions,
} from "./run.ts";

export {
  ChromaApi,
  ChromaApiError,
  chromaContents,
  compareFingerprints,
  type ChromaTarget,
  type CollectionFingerprint,
} from "./chroma-api.ts";

export interface ChromaBackupOptions extends RunBackupOptions {
  source: ChromaTarget;
  /** Records per batch object. Default 1000. */
  batchSize?: number;
}

const batchPath = (collection: string, i: number) =>
  `collections/${collection}/batch-${String(i).padStart(6, "0")}.json`;

export function chromaBackupDriver(source: ChromaTarget, batchSize = 1000): BackupDriver {
  return {
    store: "chroma",
    kind: "export",
    async capture(ctx) {
      const api = new ChromaApi(source);
      const files: ManifestFile[] = [];
      const collections: NonNullable<Manifest["collections"]> = [];
      let records = 0;
      const put = async (path: string, data: unknown) => {
        const body = Buffer.from(JSON.stringify(data));
        await ctx.store.putBuffer(ctx.dir + path, body, "application/json");
        files.push({ path, size: body.length, sha256: sha256(body) });
      };
      for (const c of await api.collections()) {
        const expected = await api.count(c);
        const digest = new CollectionDigest();
        let n = 0;
        for (let offset = 0; ; offset += batchSize) {
          const b = await api.get(c, offset, batchSize);
          if (b.ids.length === 0) break;
          digest.add(b);
          const { ids, embeddings, documents, metadatas } = b;
          await put(batchPath(c.name, n++), { ids, embeddings, documents, metadatas });
          ctx.progress.update((records += b.ids.length));
          if (b.ids.length < batchSize) break;
        }
        if (digest.count !== expected)
          throw new JarvisError(
            "JARVIS_CHROMA_CHANGED",
            `collection ${c.name} changed during the export (${digest.count} records read, ${expected} counted); run the backup again at a quiet time`,
          );
        const definition = {
          name: c.name,
          metadata: c.metadata,
          configuration: c.configuration_json ?? null,
        };
        await put(`collections/${c.name}/collection.json`, {
          ...definition,
          batches: n,
          count: digest.count,
        });
        collections.push(digest.result(c.name));
        ctx.log.info("chroma collection exported", { collection: c.name, records: digest.count, batches: n });
      }
      return {
        files,
        collections,
        source: { url: new URL(source.url).origin, tenant: api.tenant, database: api.database },
        tools: { export: "jarvis-data (Chroma v2 API)" },
      };
    },
  };
}

export async function backupChroma(opts: ChromaBackupOptions): Promise<BackupResult> {
  return runBackup(chromaBackupDriver(opts.source, opts.batchSize), opts);
}

export interface ChromaRestorePlan extends RestorePlan {
  store: "chroma";
  overwrites: { collection: string; records: number }[] | null;
}

/** --confirm is the target database's name when it holds collections. */
export interface ChromaRestoreOptions extends StoreRestoreOptions<ChromaRestorePlan> {
  target: ChromaTarget;
  /** Create the target database when it does not exist. */
  createDatabase?: boolean;
}

interface CollectionDefinition {
  name: string;
  metadata: Record<string, unknown> | null;
  configuration: Record<string, unknown> | null;
  batches: number;
}

/** A stored JSON object of the backup, checked against its manifest entry before it is parsed. */
async function fetchChecked<T>(ctx: LoadContext, path: string): Promise<T> {
  const entry = ctx.manifest.files.find((f) => f.path === path);
  if (!entry)
    throw new JarvisError(
      "JARVIS_BACKUP_CORRUPT",
      `chroma backup ${ctx.ref.id} lists no ${path}; the backup is incomplete: restore another one`,
    );
  const body = await ctx.store.getBuffer(ctx.ref.dir + path);
  checkObject({ sha256: sha256(body), size: body.length }, entry, ctx.store.url(ctx.ref.dir + path));
  return JSON.parse(body.toString("utf8")) as T;
}

export function chromaRestoreDriver(o: ChromaRestoreOptions): RestoreDriver {
  const api = new ChromaApi(o.target);
  const hex = randomBytes(4).toString("hex");
  const sideName = (n: string) => `${n}_restoring_${hex}`;
  const oldName = (n: string) => `${n}_replaced_${hex}`;
  let existing: CollectionInfo[] = [];
  const sides: { info: CollectionInfo; name: string }[] = [];
  return {
    store: "chroma",
    download: false,
    async inspectTarget() {
      if (o.createDatabase) await api.createDatabase({ ifMissing: true });
      existing = await api.collections();
      const overwrites = existing.length
        ? await Promise.all(existing.map(async (c) => ({ collection: c.name, records: await api.count(c) })))
        : null;
      const summary = overwrites?.map((x) => `${x.collection}: ${x.records}`).join(", ");
      return {
        name: api.database,
        overwrites,
        summary: summary && `${overwrites!.length} collections: ${summary}`,
      };
    },
    async load(ctx) {
      let records = 0;
      for (const col of ctx.manifest.collections ?? []) {
        const def = await fetchChecked<CollectionDefinition>(ctx, `collections/${col.name}/collection.json`);
        const info = await api.create(sideName(col.name), def.metadata, creatable(def.configuration));
        sides.push({ info, name: col.name });
        for (let i = 0; i < def.batches; i++) {
          const b = await fetchChecked<Batch>(ctx, batchPath(col.name, i));
          await api.add(info, b);
          ctx.progress.update((records += b.ids.length));
        }
        ctx.log.info("chroma collection imported beside the target", {
          collection: col.name,
          records: col.count,
        });
      }
    },
    async check(ctx) {
      const problems: string[] = [];
      for (const want of ctx.manifest.collections ?? []) {
        const side = sides.find((s) => s.name === want.name)!;
        const got = await fingerprint(api, side.info, want.name);
        problems.push(...compareFingerprints(want, got));
      }
      return problems;
    },
    async swap(ctx) {
      const renamed: CollectionInfo[] = [];
      const swapped: typeof sides = [];
      try {
        for (const c of existing) await api.rename(c, oldName(c.name)).then(() => renamed.push(c));
        for (const s of sides) await api.rename(s.info, s.name).then(() => swapped.push(s));
      } catch (e) {
        // Undo in reverse: the restored ones back to their side names, the old ones back to theirs.
        for (const s of swapped) await api.rename(s.info, sideName(s.name)).catch(() => {});
        for (const c of renamed) await api.rename(c, c.name).catch(() => {});
        throw e;
      }
      sides.length = 0;
      for (const c of existing) {
        ctx.log.warn("deleting replaced collection", { collection: c.name, database: api.database });
        await api.deleteCollection(oldName(c.name));
      }
    },
    async discard() {
      for (const s of sides) await api.deleteCollection(s.info.name).catch(() => {});
    },
  };
}

/** The fingerprint of one collection, under the name the manifest knows it by. */
async function fingerprint(
  api: ChromaApi,
  c: CollectionInfo,
  name: string,
  batchSize = 1000,
): Promise<CollectionFingerprint> {
  const d = new CollectionDigest();
  for (let offset = 0; ; offset += batchSize) {
    const b = await api.get(c, offset, batchSize);
    d.add(b);
    if (b.ids.length < batchSize) break;
  }
  return d.result(name);
}

export async function restoreChroma(opts: ChromaRestoreOptions): Promise<RestoreResult> {
  return runRestore(chromaRestoreDriver(opts), {
    ...opts,
    onPlan: opts.onPlan as ((p: RestorePlan) => void) | undefined,
  });
}
