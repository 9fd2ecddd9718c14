/**
 * A23: each store's availability over 30 days, read from Prometheus (the recording rule
 * jarvis:store_availability:ratio_30d of settings/monitoring/slo.ts). Without a reachable
 * Prometheus the figure is unknown, with the reason, never a guess.
 */
import { AVAILABILITY_30D, BUDGET_REMAINING } from "../../settings/monitoring/slo.ts";
import { redactText } from "../log.ts";

export interface AvailabilityFigure {
  store: string;
  /** 0..1, or null when Prometheus has no value. */
  ratio30d: number | null;
  /** Fraction of the month's error budget left (1 untouched, < 0 overspent). */
  budgetRemaining: number | null;
}

export type AvailabilityReport =
  | { source: string; target: number; stores: AvailabilityFigure[] }
  | { source: null; target: number; reason: string };

interface PromVector {
  status: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
  error?: string;
}

async function query(base: string, expr: string, timeoutMs: number): Promise<Map<string, number>> {
  const res = await fetch(`${base.replace(/\/$/, "")}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const body = (await res.json()) as PromVector;
  if (body.status !== "success") throw new Error(body.error ?? "query failed");
  return new Map((body.data?.result ?? []).map((r) => [r.metric.store ?? "", Number(r.value[1])]));
}

export async function availabilityFromPrometheus(
  url: string | undefined,
  stores: readonly string[],
  target: number,
  timeoutMs = 5000,
): Promise<AvailabilityReport> {
  if (!url)
    return { source: null, target, reason: "set JARVIS_PROMETHEUS_URL (or --prometheus-url) to read it" };
  try {
    const [ratio, budget] = await Promise.all([
      query(url, AVAILABILITY_30D, timeoutMs),
      query(url, BUDGET_REMAINING, timeoutMs),
    ]);
    return {
      source: url,
      target,
      stores: stores.map((store) => ({
        store,
        ratio30d: ratio.get(store) ?? null,
        budgetRemaining: budget.get(store) ?? null,
      })),
    };
  } catch (e) {
    return { source: null, target, reason: `Prometheus unreachable: ${redactText((e as Error).message)}` };
  }
}
