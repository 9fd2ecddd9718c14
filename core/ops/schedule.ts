/**
 * Which job runs when: config.backup.schedules and config.retention.agent turned into the ops
 * agent's jobs (pure). The ops-agent component uploads the same JSON (`AgentSchedule`) that the
 * agent reads.
 */
import type { JarvisConfig } from "../../config/schema.ts";
import { logRetentionDays, type LogFamily } from "../../settings/monitoring/logs.ts";
import type { StoreName } from "../backup/manifest.ts";
import { retentionPolicy, type RetentionPolicy } from "../retention/policy.ts";
import type { ScheduledJob } from "./agent.ts";
import type { RetentionJob } from "./retention-jobs.ts";

export interface AgentSchedule {
  schedules: JarvisConfig["backup"]["schedules"];
  /** pgBackRest is set up where the agent runs: run the physical full/diff schedules. */
  physical: boolean;
  /** Containers whose state the agent exports as jarvis_container_up (settings/monitoring.ts watchedContainers). */
  containers?: string[];
  /** Store retention (A12, A13, A15): when each runs, what it keeps. Absent in older schedule files. */
  retention?: {
    schedules: Record<RetentionJob, string>;
    policy: RetentionPolicy;
    logDays: Record<LogFamily, number>;
    chromaCollections?: string[];
  };
  /** A22: when the agent refreshes the storage figures (bucket prefixes, Chroma on disk). */
  storage?: string;
}

/** The storage figures move slowly: hourly, like the audit's checks (A21). */
export const STORAGE_SCHEDULE = "20 * * * *";

export function agentSchedule(cfg: JarvisConfig, physical = true, containers: string[] = []): AgentSchedule {
  const a = cfg.retention.agent;
  return {
    schedules: cfg.backup.schedules,
    physical,
    containers,
    retention: {
      schedules: { chroma: a.chroma, "redis-temp-keys": a.redisTempKeys, logs: a.logs },
      policy: retentionPolicy(cfg),
      logDays: logRetentionDays(cfg),
      ...(a.chromaCollections ? { chromaCollections: a.chromaCollections } : {}),
    },
    storage: STORAGE_SCHEDULE,
  };
}

export interface JobRunners {
  backup(
    store: StoreName,
    kind: "logical" | "physical" | undefined,
    type?: "full" | "diff",
  ): Promise<unknown>;
  drill(): Promise<unknown>;
  /** Store retention; absent: no retention job is scheduled. */
  retention?(job: RetentionJob): Promise<unknown>;
  /** A6: the last 7 days of logs, asked for with each weekly full backup. */
  logsBackup?(): Promise<unknown>;
  /** A22: refresh the storage figures. */
  storage?(): Promise<unknown>;
}

/** Retention, the logs backup and the storage figures, when the schedule and the runners have them. */
function dayTwoJobs(s: AgentSchedule, run: JobRunners): ScheduledJob[] {
  const out: ScheduledJob[] = [];
  const retention = run.retention;
  if (s.retention && retention)
    for (const [job, cron] of Object.entries(s.retention.schedules) as [RetentionJob, string][])
      out.push({ name: `retention-${job}`, cron, run: () => retention(job) });
  // A6: with the weekly full (Sunday 02:00 by default).
  const logsBackup = run.logsBackup;
  if (logsBackup)
    out.push({
      name: "logs-backup",
      cron: s.schedules.postgresFull,
      run: () => logsBackup(),
    });
  const storage = run.storage;
  if (s.storage && storage) out.push({ name: "storage-report", cron: s.storage, run: () => storage() });
  return out;
}

export function agentJobs(s: AgentSchedule, run: JobRunners): ScheduledJob[] {
  const j = s.schedules;
  return [
    ...(s.physical
      ? [
          {
            name: "postgres-full",
            cron: j.postgresFull,
            run: () => run.backup("postgres", "physical", "full"),
          },
          {
            name: "postgres-diff",
            cron: j.postgresDiff,
            run: () => run.backup("postgres", "physical", "diff"),
          },
        ]
      : []),
    { name: "postgres-logical", cron: j.postgresLogical, run: () => run.backup("postgres", "logical") },
    { name: "redis", cron: j.redis, run: () => run.backup("redis", undefined) },
    { name: "chroma", cron: j.chroma, run: () => run.backup("chroma", undefined) },
    {
      name: "drill",
      cron: j.drill,
      run: async () => {
        const results = (await run.drill()) as { ok: boolean }[];
        if (results.some((r) => !r.ok))
          throw new Error("recovery drill failed (see jarvis_drill_last_status)");
      },
    },
    ...dayTwoJobs(s, run),
  ];
}
