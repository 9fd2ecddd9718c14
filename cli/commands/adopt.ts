/**
 * `jarvis-data adopt <postgres|redis|chroma> --from SOURCE`: brings a running JARVIS's data into the
 * stack (docs/runbooks/adopt.md). The source is only read; the target is DATABASE_URL, REDIS_URL
 * or CHROMA_URL (+ CHROMA_TOKEN).
 */
import { adoptPostgres, type AdoptPostgresResult } from "../../core/adopt/postgres.ts";
import { adoptChroma } from "../../core/adopt/chroma.ts";
import { adoptRedis } from "../../core/adopt/redis.ts";
import { EXIT, UsageError } from "../../core/errors.ts";
import { createProgress } from "../../core/progress.ts";
import { defineCommand, type CommandContext } from "../command.ts";
import { need } from "../env.ts";

function postgresText(r: AdoptPostgresResult): string {
  if (r.dryRun) {
    return Object.entries(r.plan ?? {})
      .map(([t, p]) =>
        [
          `${t} (from ${p.from}): ${p.source} rows`,
          ...p.conversions.map((c) => `  convert  ${c}`),
          ...p.extraColumns.map((c) => `  extra    ${c} (not copied)`),
          ...p.defaultedColumns.map((c) => `  default  ${c} (absent from the source)`),
          ...p.refusals.map((x) => `  refuse   ${x.rows} rows: ${x.rule}`),
          ...p.unchecked.map((x) => `  unchecked ${x}`),
        ].join("\n"),
      )
      .join("\n");
  }
  const lines = Object.entries(r.tables).map(
    ([t, x]) =>
      `${t}: ${x.source} source = ${x.imported} imported + ${x.quarantined} quarantined, checksum ${x.checksumMatch ? "matches" : "DIFFERS"}`,
  );
  return [...lines, ...r.mismatches.map((m) => `MISMATCH ${m}`), `${r.seconds.toFixed(1)} s`].join("\n");
}

async function runPostgres(ctx: Ctx): Promise<number> {
  const r = await adoptPostgres({
    from: ctx.options.from,
    target: need(ctx.env.databaseUrl, "DATABASE_URL", "postgresql://jarvis_owner:...@db:5432/jarvis"),
    dryRun: Boolean(ctx.options["dry-run"]),
    force: Boolean(ctx.options.force),
    sourceTimeZone: ctx.options["source-timezone"],
    batchSize: ctx.options["batch-size"],
    log: ctx.log,
    progress: (label, total) =>
      createProgress({ label, total, unit: "rows", enabled: ctx.json ? false : undefined }),
  });
  const out = r.dryRun
    ? { plan: r.plan, sourceId: r.sourceId, timeZone: r.timeZone, seconds: r.seconds }
    : { tables: r.tables, seconds: r.seconds, verifySeconds: r.verifySeconds, mismatches: r.mismatches };
  ctx.print(out, postgresText(r));
  return r.mismatches.length ? EXIT.failed : EXIT.ok;
}

async function runRedis(ctx: Ctx): Promise<number> {
  const r = await adoptRedis({
    from: ctx.options.from,
    target: need(ctx.env.redisUrl, "REDIS_URL", "redis://admin:...@redis:6379"),
    force: Boolean(ctx.options.force),
    log: ctx.log,
  });
  const text = Object.entries(r.databases)
    .map(
      ([db, x]) =>
        `${db}: ${x.source} keys: ${x.imported} imported, ${x.unchanged} already there, ${x.expired} expired, ${x.withTtl} with expiry; counts ${x.countsMatch ? "match" : "DIFFER"}`,
    )
    .concat(r.mismatches.map((m) => `MISMATCH ${m}`))
    .join("\n");
  ctx.print(r, text || "the source Redis holds no keys");
  return r.mismatches.length ? EXIT.failed : EXIT.ok;
}

async function runChroma(ctx: Ctx): Promise<number> {
  const url = need(ctx.env.chromaUrl, "CHROMA_URL", "http://chroma-gateway:8000");
  const r = await adoptChroma({
    from: ctx.options.from,
    target: { url, ...(ctx.env.chromaToken ? { token: ctx.env.chromaToken } : {}) },
    force: Boolean(ctx.options.force),
    sourceTimeZone: ctx.options["source-timezone"],
    log: ctx.log,
  });
  const text = Object.entries(r.collections)
    .map(
      ([name, x]) =>
        `${name}: ${x.source} records, ${x.imported} imported, derived category ${x.derived.category} / created_at ${x.derived.createdAt} / importance ${x.derived.importance}, ${x.withoutCreatedAt} without a time (never expire); fingerprint ${x.checksumMatch ? "matches" : "DIFFERS"}`,
    )
    .concat(r.mismatches.map((m) => `MISMATCH ${m}`))
    .join("\n");
  ctx.print(r, text || "the source directory holds no collections");
  return r.mismatches.length ? EXIT.failed : EXIT.ok;
}

const OPTIONS = {
  from: { type: "string", required: true, description: "the legacy store: a URL, a dump.rdb or a directory" },
  "dry-run": { type: "boolean", description: "postgres: plan only, write nothing" },
  force: { type: "boolean", description: "add to a target that holds rows from elsewhere" },
  "source-timezone": { type: "string", description: "the zone of the legacy naive timestamps" },
  "batch-size": { type: "number", integer: true, min: 1, description: "rows per batch (postgres)" },
} as const;

type Ctx = CommandContext<typeof OPTIONS>;

export const adopt = defineCommand({
  name: "adopt",
  summary:
    "bring a running JARVIS's data in: PostgreSQL (converted, resumable, verified), Redis keys, Chroma collections",
  usage:
    "jarvis-data adopt <postgres|redis|chroma> --from SOURCE [--dry-run] [--force] [--source-timezone TZ] [--batch-size N] [--json]",
  description: [
    "postgres: --from postgresql://.../jarvis_memory (read in one read-only snapshot); into DATABASE_URL (migrated; jarvis_owner's connection, a superuser is refused).",
    "  --dry-run plans (rows, conversions, rows the target would refuse and why); --source-timezone: the zone of",
    "  the legacy naive timestamps (default: the source server's TimeZone); --force adds to a target holding other rows.",
    "  Re-running resumes; a run after success copies nothing. Exit 1 when the verification differs.",
    "redis: --from redis://... or a dump.rdb path; into REDIS_URL (admin user), TTLs kept, counts verified.",
    "chroma: --from the old persistent directory (./memory); into CHROMA_URL (+ CHROMA_TOKEN).",
    "See docs/runbooks/adopt.md for the cut-over.",
  ].join("\n"),
  options: OPTIONS,
  async run(ctx) {
    const store = ctx.args[0];
    if (store === "postgres") return runPostgres(ctx);
    if (store === "redis") return runRedis(ctx);
    if (store === "chroma") return runChroma(ctx);
    throw new UsageError(`adopt ${store ?? ""}: choose postgres, redis or chroma`);
  },
});
