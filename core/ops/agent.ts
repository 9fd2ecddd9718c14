/**
 * The ops agent: runs the backups and drills on their schedules (config.backup.schedules, UTC
 * cron) and serves /metrics (Prometheus text) from the ops state file. One job runs at a time;
 * a job due while another runs waits for it (backups and drills compete for the same disks).
 */
import http from "node:http";
import { silentLogger, type Logger } from "../log.ts";
import { cronMatches, parseCron, type CronSpec } from "./cron.ts";
import { loadState, renderMetrics } from "./metrics.ts";
import { renderContainerMetrics, type ContainerState } from "./containers.ts";

export interface ScheduledJob {
  name: string;
  cron: string;
  run: () => Promise<unknown>;
}

export interface AgentOptions {
  jobs: ScheduledJob[];
  stateFile: string;
  /** Where /metrics listens; port 0 picks one. */
  host?: string;
  port?: number;
  log?: Logger;
  /** Ticks every minute on the wall clock unless false (tests drive `tick` themselves). */
  clock?: boolean;
  /** Container states for jarvis_container_up, read at each scrape (core/ops/containers.ts). */
  containerStates?: () => Promise<Record<string, ContainerState> | null>;
}

export interface Agent {
  url: string;
  /** Runs every job due in the minute of `at`; resolves when they are done. */
  tick(at: Date): Promise<{ job: string; ok: boolean; error?: string }[]>;
  stop(): Promise<void>;
}

export async function startAgent(o: AgentOptions): Promise<Agent> {
  const log = o.log ?? silentLogger;
  const specs: { job: ScheduledJob; spec: CronSpec }[] = o.jobs.map((job) => ({
    job,
    spec: parseCron(job.cron),
  }));
  let chain: Promise<unknown> = Promise.resolve();
  const tick = (at: Date) => {
    const due = specs.filter((s) => cronMatches(s.spec, at));
    const p = chain.then(async () => {
      const out: { job: string; ok: boolean; error?: string }[] = [];
      for (const { job } of due) {
        log.info("job started", { job: job.name, cron: job.cron });
        try {
          await job.run();
          out.push({ job: job.name, ok: true });
          log.info("job done", { job: job.name });
        } catch (e) {
          out.push({ job: job.name, ok: false, error: (e as Error).message });
          log.error("job failed", { job: job.name, error: (e as Error).message });
        }
      }
      return out;
    });
    chain = p.catch(() => undefined);
    return p;
  };
  const server = http.createServer((req, res) => {
    if (req.url === "/metrics") {
      void (async () => {
        const containers = o.containerStates ? renderContainerMetrics(await o.containerStates()) : "";
        res
          .writeHead(200, { "content-type": "text/plain; version=0.0.4" })
          .end(renderMetrics(loadState(o.stateFile)) + containers);
      })();
    } else if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server.listen(o.port ?? 9187, o.host ?? "127.0.0.1", ok));
  const addr = server.address() as { port: number; address: string };
  let timer: NodeJS.Timeout | undefined;
  if (o.clock !== false) {
    const schedule = () => {
      const now = Date.now();
      timer = setTimeout(
        () => {
          void tick(new Date(Math.floor(Date.now() / 60_000) * 60_000));
          schedule();
        },
        60_000 - (now % 60_000) + 50,
      );
    };
    schedule();
  }
  log.info("ops agent started", {
    metrics: `http://${addr.address}:${addr.port}/metrics`,
    jobs: o.jobs.map((j) => `${j.name} (${j.cron})`),
  });
  return {
    url: `http://${addr.address}:${addr.port}`,
    tick,
    async stop() {
      if (timer) clearTimeout(timer);
      await chain;
      await new Promise((ok) => server.close(ok));
    },
  };
}
