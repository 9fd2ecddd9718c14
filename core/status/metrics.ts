/**
 * The ops agent's /metrics (Prometheus text format 0.0.4), read back: last backup and drill of
 * each store, and the containers it watches (jarvis_container_up, see settings/monitoring.ts).
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format (comments skipped, label values unescaped). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let l: RegExpExecArray | null;
    while ((l = re.exec(m[3] ?? ""))) labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
    const v = m[4]!;
    const value = v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** The value of `name` for a label, or undefined. */
export function valueOf(samples: Sample[], name: string, label: string, is: string): number | undefined {
  return samples.find((s) => s.name === name && s.labels[label] === is)?.value;
}

export async function fetchMetrics(url: string, timeoutMs = 5000): Promise<Sample[]> {
  const u = url.replace(/\/$/, "");
  const res = await fetch(u.endsWith("/metrics") ? u : `${u}/metrics`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return parseMetrics(await res.text());
}
