/**
 * The Grafana dashboards are JSON files in monitoring/grafana/dashboards: every panel's query
 * parses (promtool check rules, each query as a recording rule), and every metric a panel reads
 * is exported by something in the stack (an exporter, the ops agent, the log shipper, or one of
 * our recording rules).
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import YAML from "yaml";
import { parseConfig } from "../../config/schema.ts";
import { renderMetrics } from "../../core/ops/metrics.ts";
import {
  EXPORTER_METRICS,
  LOG_SHIPPER_METRICS,
  OPS_AGENT_METRICS,
  GRAFANA_DATASOURCE_UID,
  alertRules,
  grafanaDashboards,
  panelQueries,
} from "../../settings/monitoring.ts";
import { promtool } from "../support/rule-cases.ts";

const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "inf",
  "nan",
]);

/** The metric names a PromQL expression reads (function names, labels, strings and durations left out). */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  return [...bare.matchAll(/([a-zA-Z_:][\w:]*)(\s*\()?/g)]
    .filter((m) => !m[2] && !KEYWORDS.has(m[1]!.toLowerCase()))
    .map((m) => m[1]!);
}

/** Every metric the stack exports or records. */
function exported(): Set<string> {
  const cfg = parseConfig({ environment: "dev" });
  const recorded = alertRules(cfg).groups.flatMap((g) =>
    g.rules.flatMap((r) => ("record" in r ? [r.record] : [])),
  );
  const agentHelp = [...renderMetrics({ backup: {}, drill: {} } as any).matchAll(/^# TYPE (\S+)/gm)].map(
    (m) => m[1]!,
  );
  return new Set([
    ...Object.values(EXPORTER_METRICS).flat(),
    ...Object.values(OPS_AGENT_METRICS),
    ...agentHelp,
    ...Object.values(LOG_SHIPPER_METRICS),
    ...recorded,
  ]);
}

const dashboards = grafanaDashboards();

test("the dashboards are JSON files in the repository, on the provisioned data source", () => {
  assert.ok(dashboards.length >= 1);
  for (const d of dashboards) {
    const j = JSON.parse(d.json);
    assert.ok(j.uid && j.title, `${d.name} has a uid and a title`);
    for (const p of j.panels) assert.equal(p.datasource.uid, GRAFANA_DATASOURCE_UID, `${d.name}: ${p.title}`);
  }
  const titles = dashboards.flatMap((d) => JSON.parse(d.json).panels.map((p: any) => p.title.toLowerCase()));
  for (const topic of [
    "stores up",
    "size",
    "connections",
    "redis memory",
    "backup age",
    "rto",
    "retention",
    "availability",
    "error budget",
    "log errors",
  ])
    assert.ok(
      titles.some((t) => t.includes(topic)),
      `a panel shows ${topic}`,
    );
});

test("promtool parses every panel's query (as recording rules)", () => {
  const queries = dashboards.flatMap((d) => panelQueries(d.json));
  const dir = mkdtempSync(join(tmpdir(), "jarvis-panels-"));
  writeFileSync(
    join(dir, "panels.yml"),
    YAML.stringify({
      groups: [{ name: "panels", rules: queries.map((q, i) => ({ record: `panel:q${i}`, expr: q.expr })) }],
    }),
  );
  const r = promtool(["check", "rules", "panels.yml"], dir);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`SUCCESS: ${queries.length} rules found`));
});

test("every metric a panel reads is exported by an exporter, the ops agent, the log shipper or a recording rule", () => {
  const known = exported();
  const missing = dashboards
    .flatMap((d) => panelQueries(d.json))
    .flatMap((q) =>
      metricNames(q.expr)
        .filter((m) => !known.has(m))
        .map((m) => `${q.panel}: ${m}`),
    );
  assert.deepEqual(missing, []);
  assert.deepEqual(metricNames('sum by (x) (rate(foo_total{a="b"}[5m])) / on (x) bar'), ["foo_total", "bar"]);
  assert.ok(!known.has("made_up_metric"));
});
