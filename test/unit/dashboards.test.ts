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
import { renderContainerMetrics } from "../../core/ops/containers.ts";
import {
  recordBackup,
  recordDrill,
  recordRetention,
  recordStorage,
  renderMetrics,
} from "../../core/ops/metrics.ts";
import {
  EXPORTER_METRICS,
  GRAFANA_DATASOURCE_UID,
  vectorConfig,
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

/** Every metric the stack exports or records: the exporters' (listed), the agent's (rendered), the shipper's, the rules'. */
function exported(): Set<string> {
  const cfg = parseConfig({ environment: "dev" });
  const recorded = alertRules(cfg).groups.flatMap((g) =>
    g.rules.flatMap((r) => ("record" in r ? [r.record] : [])),
  );
  // What the agent actually serves, from a state with every kind of record in it.
  const dir = mkdtempSync(join(tmpdir(), "jarvis-agent-state-"));
  const file = join(dir, "state.json");
  recordBackup(file, "postgres", { ok: true, at: new Date(), durationSeconds: 1, sizeBytes: 1 });
  recordDrill(file, "postgres", { ok: true, at: new Date(), rtoSeconds: 1, rpoSeconds: 1 });
  recordRetention(file, "chroma", {
    ok: true,
    at: new Date(),
    durationSeconds: 1,
    examined: 1,
    deleted: 1,
    skipped: 0,
    freedBytes: 1,
  });
  const state = recordStorage(file, {
    at: 0,
    prefixes: [{ bucket: "b", prefix: "p/", bytes: 1, objects: 1 }],
    chromaDiskBytes: 1,
  });
  const agent = renderMetrics(state) + renderContainerMetrics({ c: { present: 1, up: 1, state: "running" } });
  const served = [...agent.matchAll(/^([a-z_:]+)[{ ]/gm)].map((m) => m[1]!);
  const vectorMetric = vectorConfig(cfg, { dockerUrl: "http://d:2375", selfName: "s" }) as any;
  const m = vectorMetric.transforms.count.metrics[0];
  return new Set([
    ...Object.values(EXPORTER_METRICS).flat(),
    ...served,
    `${m.namespace}_${m.name}`,
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

test("every metric the alert and recording rules read is exported too", () => {
  const known = exported();
  const cfg = parseConfig({ environment: "dev" });
  const missing = alertRules(cfg)
    .groups.flatMap((g) => g.rules)
    .flatMap((r) =>
      metricNames(r.expr)
        .filter((m) => !known.has(m))
        .map((m) => `${"alert" in r ? r.alert : r.record}: ${m}`),
    );
  assert.deepEqual(missing, []);
});
