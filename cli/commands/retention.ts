/**
 * `jarvis-data retention run`: the same report the ops runtime gets from runRetention
 * (core/retention). PostgreSQL's retention normally runs as pg_cron jobs; `--store postgres`
 * runs the very same SQL now.
 */
import { EXIT, UsageError } from "../../core/errors.ts";
import {
  RETENTION_STORES,
  formatRetentionReport,
  retentionPolicy,
  runRetention,
  type RetentionInputs,
  type RetentionStore,
} from "../../core/retention/index.ts";
import type { Command } from "../command.ts";
import { need } from "../env.ts";
import { stackConfig } from "./cron.ts";

export const retentionRun: Command = {
  name: "retention run",
  summary: "apply retention to Chroma (S15), Redis temp keys (S13) and, on demand, PostgreSQL",
  usage:
    "jarvis-data retention run <stack> [--config FILE] [--dry-run] [--store chroma|redis|postgres ...] [--collection NAME ...] [--json]",
  description:
    "Without --store: Chroma and Redis (PostgreSQL runs on its pg_cron schedule). Reads CHROMA_URL (+ CHROMA_TOKEN), REDIS_URL, DATABASE_URL (jarvis_owner's: a superuser is refused). --dry-run counts and deletes nothing.",
  options: {
    config: { type: "string" },
    "dry-run": { type: "boolean" },
    store: { type: "string", multiple: true },
    collection: { type: "string", multiple: true },
  },
  async run(ctx) {
    const cfg = stackConfig(ctx);
    const stores = ((ctx.options.store as string[] | undefined) ?? ["chroma", "redis"]) as RetentionStore[];
    for (const s of stores)
      if (!RETENTION_STORES.includes(s))
        throw new UsageError(`--store ${s}: choose chroma, redis or postgres`);
    const inputs: RetentionInputs = {
      policy: retentionPolicy(cfg),
      stores,
      dryRun: Boolean(ctx.options["dry-run"]),
      log: ctx.log,
    };
    if (stores.includes("chroma")) {
      inputs.chroma = {
        url: need(ctx.env.chromaUrl, "CHROMA_URL", "http://127.0.0.1:8000"),
        token: ctx.env.chromaToken,
        collections: ctx.options.collection as string[] | undefined,
      };
    }
    if (stores.includes("redis"))
      inputs.redis = { url: need(ctx.env.redisUrl, "REDIS_URL", "redis://admin:...@127.0.0.1:6379") };
    if (stores.includes("postgres"))
      inputs.postgres = {
        url: need(ctx.env.databaseUrl, "DATABASE_URL", "postgresql://jarvis_owner@127.0.0.1:5432/jarvis"),
      };
    const report = await runRetention(inputs);
    ctx.print(report, formatRetentionReport(report));
    return report.ok ? EXIT.ok : EXIT.failed;
  },
};
