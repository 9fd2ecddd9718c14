/**
 * A20 "the containers are up": the agent exports, for every watched container (the stores, the
 * stack's own services and the application's containers named in config), whether Docker knows
 * it (jarvis_container_present) and whether it runs healthy (jarvis_container_up), read from the
 * Docker API through a socket proxy that allows only GET /containers. A name Docker does not know
 * and a container that is stopped are different failures, with different alerts and fixes.
 */
import { silentLogger, type Logger } from "../log.ts";

/** The fields of Docker's GET /containers/json?all=1 that matter here. */
export interface DockerContainerSummary {
  Names: string[];
  State: string;
  Status: string;
}

/** One watched container: not found, or found and running (healthy) or not. */
export interface ContainerState {
  present: 0 | 1;
  up: 0 | 1;
  /** Docker's state (running, exited, restarting, ...) or "not found". */
  state: string;
}

/** The state of each watched name in Docker's list; `up` is running and not unhealthy. */
export function containerStates(
  watched: string[],
  list: DockerContainerSummary[],
): Record<string, ContainerState> {
  const byName = new Map<string, DockerContainerSummary>();
  for (const c of list) for (const n of c.Names) byName.set(n.replace(/^\//, ""), c);
  return Object.fromEntries(
    watched.map((name): [string, ContainerState] => {
      const c = byName.get(name);
      if (!c) return [name, { present: 0, up: 0, state: "not found" }];
      const unhealthy = /\(unhealthy\)/.test(c.Status);
      const up = c.State === "running" && !unhealthy;
      return [name, { present: 1, up: up ? 1 : 0, state: unhealthy ? "unhealthy" : c.State }];
    }),
  );
}

const label = (name: string) => name.replace(/["\\\n]/g, "");

/** Prometheus lines for the states; none when the Docker API could not be read (MonitoringTargetDown covers the agent). */
export function renderContainerMetrics(states: Record<string, ContainerState> | null): string {
  const up = [
    "# HELP jarvis_container_up 1 when the container runs and is not unhealthy",
    "# TYPE jarvis_container_up gauge",
  ];
  const present = [
    "# HELP jarvis_container_present 1 when Docker knows a container of this name, 0 when none is found",
    "# TYPE jarvis_container_present gauge",
  ];
  for (const [name, s] of Object.entries(states ?? {})) {
    up.push(`jarvis_container_up{container="${label(name)}"} ${s.up}`);
    present.push(`jarvis_container_present{container="${label(name)}"} ${s.present}`);
  }
  return [...up, ...present].join("\n") + "\n";
}

/** Reads the container list from the Docker API (e.g. http://docker-proxy:2375), bounded in time. */
export async function readContainerStates(
  dockerUrl: string,
  watched: string[],
  opts: { timeoutMs?: number; log?: Logger } = {},
): Promise<Record<string, ContainerState> | null> {
  try {
    const res = await fetch(`${dockerUrl.replace(/\/$/, "")}/containers/json?all=1`, {
      signal: AbortSignal.timeout(opts.timeoutMs ?? 3000),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return containerStates(watched, (await res.json()) as DockerContainerSummary[]);
  } catch (e) {
    (opts.log ?? silentLogger).warn("cannot read the Docker API: container states not exported", {
      dockerUrl,
      error: (e as Error).message,
    });
    return null;
  }
}
