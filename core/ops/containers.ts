/**
 * S20 "the containers are up": the agent exports jarvis_container_up{container} for every watched
 * container (the stores, the stack's own services and the application's containers named in
 * config), read from the Docker API through a socket proxy that allows only GET /containers.
 */
import { silentLogger, type Logger } from "../log.ts";

/** The fields of Docker's GET /containers/json?all=1 that matter here. */
export interface DockerContainerSummary {
  Names: string[];
  State: string;
  Status: string;
}

/**
 * 1 when the container runs and is not unhealthy, 0 otherwise, and 0 for a watched name Docker
 * does not know (a container that was never created, or removed, is down).
 */
export function containerUpStates(watched: string[], list: DockerContainerSummary[]): Record<string, 0 | 1> {
  const byName = new Map<string, DockerContainerSummary>();
  for (const c of list) for (const n of c.Names) byName.set(n.replace(/^\//, ""), c);
  return Object.fromEntries(
    watched.map((name) => {
      const c = byName.get(name);
      const up = c !== undefined && c.State === "running" && !/\(unhealthy\)/.test(c.Status);
      return [name, up ? 1 : 0];
    }),
  );
}

/** Prometheus lines for the states; none when the Docker API could not be read (MonitoringTargetDown covers the agent). */
export function renderContainerMetrics(states: Record<string, 0 | 1> | null): string {
  const lines = [
    "# HELP jarvis_container_up 1 when the container runs and is not unhealthy",
    "# TYPE jarvis_container_up gauge",
  ];
  for (const [name, v] of Object.entries(states ?? {}))
    lines.push(`jarvis_container_up{container="${name.replace(/["\\]/g, "")}"} ${v}`);
  return lines.join("\n") + "\n";
}

/** Reads the container list from the Docker API (e.g. http://docker-proxy:2375), bounded in time. */
export async function readContainerStates(
  dockerUrl: string,
  watched: string[],
  opts: { timeoutMs?: number; log?: Logger } = {},
): Promise<Record<string, 0 | 1> | null> {
  try {
    const res = await fetch(`${dockerUrl.replace(/\/$/, "")}/containers/json?all=1`, {
      signal: AbortSignal.timeout(opts.timeoutMs ?? 3000),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return containerUpStates(watched, (await res.json()) as DockerContainerSummary[]);
  } catch (e) {
    (opts.log ?? silentLogger).warn("cannot read the Docker API: container states not exported", {
      dockerUrl,
      error: (e as Error).message,
    });
    return null;
  }
}
