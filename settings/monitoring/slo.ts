/**
 * Availability (A23: 99.9 % per store) as recording rules over the probes, its 30-day error budget,
 * and the multi-window, multi-burn-rate alerts of the SRE workbook (chapter "Alerting on SLOs",
 * table 5-8): a fast burn (1 h and 5 min windows, 14.4x: 2 % of the month's budget in an hour)
 * and a slow one (6 h and 30 min, 6x: 5 % in six hours). The long window says the burn is
 * significant, the short one that it is still going on, so the alert stops soon after a recovery.
 * Also the log errors of the last 24 h per container, from the log shipper's counter.
 */
import { JOBS, LOG_SHIPPER_METRICS, type MonitoringConfig } from "./common.ts";
import { rule, type AlertRule, type RecordingRule, type RuleGroup } from "./rule.ts";

/** 1 when the store answers its probe, 0 when not, per store (absent when the exporter itself is down). */
export const STORE_UP = "jarvis:store_up";
/** Error ratio (1 - availability) of each store over a window: `jarvis:store_errors:ratio_<w>`. */
export const errorRatio = (w: string) => `jarvis:store_errors:ratio_${w}`;
export const AVAILABILITY_30D = "jarvis:store_availability:ratio_30d";
/** Fraction of the 30-day error budget left (1: untouched, 0: spent, < 0: overspent). */
export const BUDGET_REMAINING = "jarvis:store_error_budget:remaining_30d";
/** Error lines per container over the last 24 h (A20 "errors in the last 24 h of logs"). */
export const LOG_ERRORS_24H = "jarvis:log_errors:increase24h";

export const BURN_WINDOWS = ["5m", "30m", "1h", "6h"] as const;

/** The workbook's two paging pairs: [alert, long window, short window, burn rate, for]. */
export const BURN_RATES = [
  { alert: "AvailabilityFastBurn", long: "1h", short: "5m", factor: 14.4, for: "2m" },
  { alert: "AvailabilitySlowBurn", long: "6h", short: "30m", factor: 6, for: "15m" },
] as const;

const rec = (record: string, expr: string): RecordingRule => ({ record, expr });

/** The recording rules: the per-store SLI, its error ratios, 30-day availability, budget, log errors. */
export function sloRecordingRules(cfg: MonitoringConfig): RuleGroup[] {
  const budget = 1 - cfg.monitoring.availabilityTarget;
  return [
    {
      name: "jarvis-sli",
      rules: [
        rec(
          STORE_UP,
          [
            `max by (store) (label_replace(pg_up{job="${JOBS.postgres}"}, "store", "postgres", "", ""))`,
            `max by (store) (label_replace(redis_up{job="${JOBS.redis}"}, "store", "redis", "", ""))`,
            `max by (store) (label_replace(probe_success{job="${JOBS.chroma}"}, "store", "chroma", "", ""))`,
          ].join("\nor "),
        ),
        ...BURN_WINDOWS.map((w) => rec(errorRatio(w), `1 - avg_over_time(${STORE_UP}[${w}])`)),
        rec(
          LOG_ERRORS_24H,
          `sum by (container) (increase(${LOG_SHIPPER_METRICS.lines}{level="error"}[24h]))`,
        ),
      ],
    },
    {
      // A 30-day average is costly: every 5 minutes is plenty for a figure that moves slowly.
      name: "jarvis-sli-30d",
      interval: "5m",
      rules: [
        rec(AVAILABILITY_30D, `avg_over_time(${STORE_UP}[30d])`),
        rec(BUDGET_REMAINING, `1 - (1 - ${AVAILABILITY_30D}) / ${budget}`),
      ],
    },
  ];
}

const pct = (x: number) => `${Math.round(x * 100000) / 1000}`;

/** The burn-rate alerts: both windows above factor x budget. */
export function availabilityAlerts(cfg: MonitoringConfig): AlertRule[] {
  const target = cfg.monitoring.availabilityTarget;
  const budget = Math.round((1 - target) * 1e9) / 1e9;
  return BURN_RATES.map((b) =>
    rule({
      alert: b.alert,
      severity: "critical",
      expr: `${errorRatio(b.long)} > ${b.factor} * ${budget}\n  and ${errorRatio(b.short)} > ${b.factor} * ${budget}`,
      for: b.for,
      summary: `{{ $labels.store }} burns its error budget ${b.factor}x too fast`,
      description: `{{ $labels.store }} failed its probes over the last ${b.long} (and still over ${b.short}) at ${b.factor} times the rate a ${pct(target)} % monthly objective allows; at this pace the 30-day budget lasts ${Math.round((30 * 24) / b.factor)} hours.`,
    }),
  );
}
