/**
 * promtool `test rules` cases for the alerts of the day-2 issue (containers not found or stopped,
 * log errors, retention, availability burn rates), shared by test/monitoring.test.ts (every alert
 * has a firing case) and test/unit/alert-rules.test.ts (these alone, fast).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import type { JarvisConfig } from "../../config/schema.ts";
import { alertRules, appContainers, watchedContainers, type AlertRule } from "../../settings/monitoring.ts";

export const PROMTOOL = process.env.JARVIS_PROMTOOL ?? "/usr/bin/promtool";

export function promtool(args: string[], cwd: string) {
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: "utf8" });
  if (r.error)
    throw new Error(
      `promtool is not runnable (${r.error.message}): apt-get install prometheus (Debian ships promtool in it)`,
    );
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Writes the rules of `cfg` and the given unit tests into a temp dir and runs promtool on them. */
export function runRuleTests(
  cfg: JarvisConfig,
  stack: string,
  tests: unknown[],
  opts: { everyMinute?: boolean } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), "jarvis-rules-"));
  const rules = alertRules(cfg, { stack });
  // promtool aligns a slower group's evaluations unpredictably: evaluate each group every minute.
  if (opts.everyMinute) for (const g of rules.groups) delete g.interval;
  writeFileSync(join(dir, "rules.yml"), YAML.stringify(rules));
  writeFileSync(
    join(dir, "rules.test.yml"),
    YAML.stringify({ rule_files: ["rules.yml"], evaluation_interval: "1m", tests }),
  );
  return {
    dir,
    check: promtool(["check", "rules", "rules.yml"], dir),
    test: promtool(["test", "rules", "rules.test.yml"], dir),
  };
}

export const series = (name: string, labels: Record<string, string>, values: string) => ({
  series: `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}}`,
  values,
});

export const AGENT = { instance: "ops-agent:9187", job: "ops-agent" };
const SHIPPER = { instance: "log-shipper:9598", job: "log-shipper" };
const PG = { instance: "postgres-exporter:9187", job: "postgres" };
const REDIS = { instance: "redis-exporter:9121", job: "redis" };

/** The expected alert: the rule's own annotations with the labels filled in. */
function expected(cfg: JarvisConfig, stack: string, name: string, labels: Record<string, string>) {
  const r = alertRules(cfg, { stack })
    .groups.flatMap((g) => g.rules)
    .find((x): x is AlertRule => "alert" in x && x.alert === name)!;
  const fill = (t: string) => t.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, k: string) => labels[k] ?? "");
  return {
    exp_labels: { ...labels, severity: r.labels.severity },
    exp_annotations: Object.fromEntries(Object.entries(r.annotations).map(([k, v]) => [k, fill(v)])),
  };
}

export function dayTwoRuleTests(cfg: JarvisConfig, stack: string) {
  const containers = watchedContainers(cfg, stack);
  const [stopped, gone] = containers;
  const missingApp = appContainers(cfg)[0]!;
  const e = (name: string, labels: Record<string, string>) => expected(cfg, stack, name, labels);
  const store = `jarvis-${stack}-postgres`;
  return [
    {
      name: "ContainerStopped and ContainerNotFound: a stopped container, one Docker does not know, one never reported",
      interval: "1m",
      input_series: [
        series("up", AGENT, "1x10"),
        ...containers
          .filter((c) => c !== missingApp)
          .flatMap((c) => [
            series("jarvis_container_present", { ...AGENT, container: c }, c === gone ? "0x10" : "1x10"),
            series(
              "jarvis_container_up",
              { ...AGENT, container: c },
              c === stopped || c === gone ? "0x10" : "1x10",
            ),
          ]),
      ],
      alert_rule_test: [
        { eval_time: "1m", alertname: "ContainerStopped", exp_alerts: [] },
        { eval_time: "3m", alertname: "ContainerNotFound", exp_alerts: [] },
        {
          eval_time: "4m",
          alertname: "ContainerStopped",
          exp_alerts: [e("ContainerStopped", { ...AGENT, container: stopped! })],
        },
        {
          eval_time: "7m",
          alertname: "ContainerNotFound",
          exp_alerts: [
            e("ContainerNotFound", { ...AGENT, container: gone! }),
            e("ContainerNotFound", { container: missingApp }),
          ],
        },
      ],
    },
    {
      name: `LogErrorsHigh: a store above ${cfg.monitoring.logErrorsAlert} errors in 24 h; the application's errors and a quiet store do not page`,
      interval: "1m",
      input_series: [
        series("jarvis_log_lines_total", { ...SHIPPER, container: store, level: "error" }, "0+3x60"),
        series("jarvis_log_lines_total", { ...SHIPPER, container: store, level: "other" }, "0+100x60"),
        series(
          "jarvis_log_lines_total",
          { ...SHIPPER, container: `jarvis-${stack}-redis`, level: "error" },
          "0x60",
        ),
        series(
          "jarvis_log_lines_total",
          { ...SHIPPER, container: "jarvis_brain", level: "error" },
          "0+50x60",
        ),
      ],
      alert_rule_test: [
        { eval_time: "5m", alertname: "LogErrorsHigh", exp_alerts: [] },
        {
          eval_time: "45m",
          alertname: "LogErrorsHigh",
          exp_alerts: [e("LogErrorsHigh", { container: store })],
        },
      ],
    },
    {
      name: "RetentionFailed and RetentionRecordsSkipped: a failed Chroma run, a Redis sweep that skipped nothing",
      interval: "1m",
      input_series: [
        series("jarvis_retention_last_status", { ...AGENT, retention: "chroma" }, "0x5"),
        series("jarvis_retention_last_status", { ...AGENT, retention: "redis-temp-keys" }, "1x5"),
        series("jarvis_retention_last_skipped", { ...AGENT, retention: "chroma" }, "3x5"),
        series("jarvis_retention_last_skipped", { ...AGENT, retention: "redis-temp-keys" }, "0x5"),
      ],
      alert_rule_test: [
        {
          eval_time: "1m",
          alertname: "RetentionFailed",
          exp_alerts: [e("RetentionFailed", { ...AGENT, retention: "chroma" })],
        },
        {
          eval_time: "1m",
          alertname: "RetentionRecordsSkipped",
          exp_alerts: [
            {
              ...e("RetentionRecordsSkipped", { ...AGENT, retention: "chroma" }),
              exp_annotations: {
                ...e("RetentionRecordsSkipped", { ...AGENT, retention: "chroma" }).exp_annotations,
                summary: "chroma retention skipped 3 records",
              },
            },
          ],
        },
      ],
    },
    {
      name: "AvailabilityFastBurn then AvailabilitySlowBurn: PostgreSQL down 10 minutes after 2 hours up; Redis always up",
      interval: "1m",
      input_series: [series("pg_up", PG, "1x119 0x10 1x60"), series("redis_up", REDIS, "1x190")],
      alert_rule_test: [
        { eval_time: "119m", alertname: "AvailabilityFastBurn", exp_alerts: [] },
        {
          eval_time: "125m",
          alertname: "AvailabilityFastBurn",
          exp_alerts: [e("AvailabilityFastBurn", { store: "postgres" })],
        },
        { eval_time: "125m", alertname: "AvailabilitySlowBurn", exp_alerts: [] },
        { eval_time: "142m", alertname: "AvailabilityFastBurn", exp_alerts: [] },
        {
          eval_time: "142m",
          alertname: "AvailabilitySlowBurn",
          exp_alerts: [e("AvailabilitySlowBurn", { store: "postgres" })],
        },
      ],
    },
  ];
}
