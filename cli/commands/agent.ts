/**
 * `jarvis-data agent`: the ops agent (the container of components/ops-agent.ts runs it). Runs the
 * backups and drills on the schedules of config.backup.schedules and serves /metrics.
 */
import { existsSync, readFileSync } from "node:fs";
import { UsageError } from "../../core/errors.ts";
import { startAgent } from "../../core/ops/agent.ts";
import { readContainerStates } from "../../core/ops/containers.ts";
import { runBackup, runDrill, type OpsDeps } from "../../core/ops/jobs.ts";
import { runRetentionJob, runStorageReport } from "../../core/ops/retention-jobs.ts";
import { agentJobs, agentSchedule, type AgentSchedule, type JobRunners } from "../../core/ops/schedule.ts";
import type { Connections } from "../env.ts";
import { defineCommand } from "../command.ts";
import { opsFromEnv } from "../env.ts";
import { CONFIG_OPTION, stackConfig } from "../stack.ts";

function loadSchedule(
  opts: { config?: string; "schedule-file"?: string },
  stack: string | undefined,
): AgentSchedule {
  const file = opts["schedule-file"];
  if (file) {
    if (!existsSync(file)) throw new UsageError(`no schedule file ${file}`);
    return JSON.parse(readFileSync(file, "utf8")) as AgentSchedule;
  }
  const cfg = stackConfig(stack, opts.config, { orDefaults: true });
  return agentSchedule(cfg, Boolean(process.env.JARVIS_PGBACKREST_CONFIG_PATH));
}

/** The day-2 runners: store retention, the logs backup with the weekly full, the storage figures. */
function dayTwoRunners(s: AgentSchedule, deps: OpsDeps, env: Connections): Partial<JobRunners> {
  const r = s.retention;
  return {
    ...(r
      ? {
          retention: (job) =>
            runRetentionJob(
              {
                policy: r.policy,
                chroma: deps.chroma && { ...deps.chroma, collections: r.chromaCollections },
                redisUrl: env.redisRetentionUrl,
                logsDir: env.logsDir,
                logDays: r.logDays,
                stateFile: deps.stateFile,
                log: deps.log,
              },
              job,
            ),
        }
      : {}),
    // A6: the stack's logs of the last 7 days (files under JARVIS_LOGS_DIR, written by the log
    // shipper), with a manifest like every backup; scheduled with the weekly full backup.
    ...(env.logsDir ? { logsBackup: () => runBackup(deps, "logs") } : {}),
    storage: () =>
      runStorageReport({ store: deps.store, chromaDataDir: env.chromaDataDir, stateFile: deps.stateFile }),
  };
}

export const agent = defineCommand({
  name: "agent",
  summary: "run the ops agent: scheduled backups, drills and store retention, /metrics in Prometheus format",
  usage:
    "jarvis-data agent [<stack>] [--config FILE | --schedule-file FILE] [--host 127.0.0.1] [--port 9187]",
  description:
    "State (and /metrics) in JARVIS_OPS_STATE (default /var/lib/jarvis-ops/state.json). Connections as for `backup`. With JARVIS_DOCKER_URL (a Docker API socket proxy), exports jarvis_container_up and jarvis_container_present for the schedule file's containers. Retention: Chroma (CHROMA_URL), Redis temp keys (JARVIS_REDIS_RETENTION_URL[_FILE] or REDIS_URL, a user allowed SCAN/TTL/EXPIRE/INFO/DBSIZE), log files (JARVIS_LOGS_DIR); storage figures hourly (the bucket, and JARVIS_CHROMA_DATA_DIR when mounted).",
  options: {
    config: CONFIG_OPTION,
    "schedule-file": { type: "string", description: "a schedule as JSON, instead of the stack's config" },
    host: { type: "string", default: "127.0.0.1", description: "where /metrics listens" },
    port: {
      type: "number",
      integer: true,
      min: 0,
      default: 9187,
      description: "/metrics port (0: any free one)",
    },
  },
  async run(ctx) {
    if (ctx.options.port > 65535)
      throw new UsageError(`--port must be at most 65535 (got ${ctx.options.port})`);
    const schedule = loadSchedule(ctx.options, ctx.args[0]);
    const env = {
      ...process.env,
      JARVIS_OPS_STATE: process.env.JARVIS_OPS_STATE ?? "/var/lib/jarvis-ops/state.json",
    };
    const deps = opsFromEnv(ctx, env);
    if (schedule.physical && deps.pgbackrest) {
      // Idempotent: creates the repository's stanza on first start, checks it afterwards. A
      // failure is logged and the physical backups then fail loudly (metric + alert), the rest runs.
      await deps.pgbackrest
        .stanzaCreate()
        .catch((e: Error) => ctx.log.error(`pgBackRest stanza-create failed: ${e.message}`));
    }
    const jobs = agentJobs(schedule, {
      backup: (store, kind, type) => runBackup(deps, store, { kind, physicalType: type }),
      drill: () => runDrill(deps, ["postgres", "redis", "chroma"]),
      ...dayTwoRunners(schedule, { ...deps, log: ctx.log }, ctx.env),
    });
    const dockerUrl = ctx.env.dockerUrl;
    const watched = schedule.containers ?? [];
    const containerStates =
      dockerUrl && watched.length
        ? () => readContainerStates(dockerUrl, watched, { log: ctx.log })
        : undefined;
    const a = await startAgent({
      jobs,
      stateFile: deps.stateFile!,
      containerStates,
      host: ctx.options.host,
      port: ctx.options.port,
      log: ctx.log,
    });
    await new Promise<void>((done) => {
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void a.stop().then(done));
    });
    deps.store.destroy();
    return 0;
  },
});
