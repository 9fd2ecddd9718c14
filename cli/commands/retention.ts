/**
 * `jarvis-data retention run`: the same report the ops runtime gets from runRetention
 * (core/retention). PostgreSQL's retention normally runs as pg_cron jobs; `--store postgres`
 * runs the very same SQL now.
 */
import { EXIT } from "../../core/errors.ts";
import {
  RETENTION_STORES,
  formatRetentionReport,
  retentionPolicy,
  runRetention,
  type RetentionInputs,
} from "../../core/retention/index.ts";
import { defineCommand } from "../command.ts";
import { need } from "../env.ts";
import { CONFIG_OPTION, stackConfig } from "../stack.ts";

export const retentionRun = defineCommand({
  name: "retention run",
  summary: "apply retention to Chroma (A15), Redis temp keys (A13) and, on demand, PostgreSQL",
  usage:
    "jarvis-data retention run <stack> [--config FILE] [--dry-run] [--store chroma|redis|postgres ...] [--collection NAME ...] [--json]",
  description:
    "Without --store: Chroma and Redis (PostgreSQL runs on its pg_cron schedule). Reads CHROMA_URL (+ CHROMA_TOKEN), REDIS_URL, DATABASE_URL (jarvis_owner's: a superuser is refused). --dry-run counts and deletes nothing.",
  options: {
    config: CONFIG_OPTION,
    "dry-run": { type: "boolean", description: "count, delete nothing" },
    store: {
      type: "string",
      multiple: true,
      choices: RETENTION_STORES,
      description: "a store to apply retention to (repeatable; default chroma and redis)",
    },
    collection: {
      type: "string",
      multiple: true,
      description: "a Chroma collection (repeatable; default all)",
    },
  },
  async run(ctx) {
    const cfg = stackConfig(ctx.args[0], ctx.options.config);
    const stores = ctx.options.store ?? ["chroma", "redis"];
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
        collections: ctx.options.collection,
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
});
