import { BackupStore } from "../../core/backup/store.ts";
import { EXIT, UsageError } from "../../core/errors.ts";
import { collectStatus, formatStatus } from "../../core/status/index.ts";
import { defineCommand } from "../command.ts";
import { stackConfig } from "../stack.ts";

export const status = defineCommand({
  name: "status",
  summary: "health and figures of every store, read live (A20, A22); exit 1 when something is down",
  usage:
    "jarvis-data status [<stack>] [--config FILE] [--disk PATH]... [--ops-url URL] [--prometheus-url URL] [--timeout SECONDS] [--json]",
  description: [
    "Reads PostgreSQL (DATABASE_URL: database size, connections vs max_connections, five largest tables, data",
    "directory), Redis (REDIS_URL, the monitor user is enough: memory used and peak, keys), Chroma (CHROMA_URL),",
    "disk use (the data directory when it is local, and each --disk PATH), and the last backup and drill of each",
    "store from the ops agent's /metrics (--ops-url or JARVIS_OPS_URL), else the backups from the bucket's",
    "manifests (JARVIS_BACKUP_BUCKET). Storage (A22): bytes and objects per backup prefix and Chroma on disk, from",
    "the agent, else by listing the bucket; the agent's last retention runs; each store's 30-day availability",
    "(A23) from Prometheus (--prometheus-url or JARVIS_PROMETHEUS_URL). What is not configured is reported as",
    "unknown, not down.",
    "Thresholds (disk, connections, RPO, RTO) come from the stack's config (<stack> or --config), else the defaults.",
    "Exit status: 0 all configured services up; 1 something is down; 2 usage.",
  ].join("\n"),
  options: {
    config: { type: "string", description: "the stack file, for the thresholds" },
    disk: { type: "string", multiple: true, description: "a path whose disk use to report (repeatable)" },
    "ops-url": { type: "string", description: "the ops agent (default JARVIS_OPS_URL)" },
    "prometheus-url": { type: "string", description: "Prometheus (default JARVIS_PROMETHEUS_URL)" },
    timeout: { type: "number", default: 5, description: "seconds per check" },
  },
  async run(ctx) {
    // Thresholds come from the stack's config when named, else from the schema's defaults (the audit's).
    const cfg = stackConfig(ctx.args[0], ctx.options.config, { orDefaults: true });
    const timeout = ctx.options.timeout;
    // the validator's min is inclusive; 0 s would time every check out
    if (timeout <= 0) throw new UsageError(`--timeout must be a positive number of seconds (got ${timeout})`);
    const s3 = ctx.env.s3;
    const report = await collectStatus(cfg, {
      databaseUrl: ctx.env.databaseUrl,
      redisUrl: ctx.env.redisUrl,
      chromaUrl: ctx.env.chromaUrl,
      chromaToken: ctx.env.chromaToken,
      opsUrl: ctx.options["ops-url"] ?? ctx.env.opsUrl,
      prometheusUrl: ctx.options["prometheus-url"] ?? ctx.env.prometheusUrl,
      backupStore: s3.bucket
        ? new BackupStore({
            endpoint: s3.endpoint,
            bucket: s3.bucket,
            region: s3.region,
            accessKeyId: s3.accessKeyId,
            secretAccessKey: s3.secretAccessKey,
            attempts: 1,
            requestTimeoutMs: timeout * 1000,
          })
        : undefined,
      diskPaths: ctx.options.disk ?? [],
      timeoutMs: timeout * 1000,
    });
    ctx.print(report, formatStatus(report));
    return report.ok ? EXIT.ok : EXIT.failed;
  },
});
