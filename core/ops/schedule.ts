/**
 * Which job runs when: config.backup.schedules turned into the ops agent's jobs (pure). The
 * ops-agent component uploads the same JSON (`AgentSchedule`) that the agent reads.
 */
import type { JarvisConfig } from "../../config/schema.ts";
import type { StoreName } from "../backup/manifest.ts";
import type { ScheduledJob } from "./agent.ts";

export interface AgentSchedule {
  schedules: JarvisConfig["backup"]["schedules"];
  /** pgBackRest is set up where the agent runs: run the physical full/diff schedules. */
  physical: boolean;
  /** Containers whose state the agent exports as jarvis_container_up (settings/monitoring.ts watchedContainers). */
  containers?: string[];
}

export function agentSchedule(cfg: JarvisConfig, physical = true, containers: string[] = []): AgentSchedule {
  return { schedules: cfg.backup.schedules, physical, containers };
}

export interface JobRunners {
  backup(
    store: StoreName,
    kind: "logical" | "physical" | undefined,
    type?: "full" | "diff",
  ): Promise<unknown>;
  drill(): Promise<unknown>;
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
  ];
}
