/**
 * The day-2 alerts proven with promtool alone (no server): containers not found versus stopped,
 * log errors of the stores, retention failures and skipped records, and the availability burn
 * rates (SRE workbook: 1 h/5 min at 14.4x, 6 h/30 min at 6x) on synthetic series.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../config/schema.ts";
import { alertRules, BUDGET_REMAINING, AVAILABILITY_30D } from "../../settings/monitoring.ts";
import { dayTwoRuleTests, runRuleTests } from "../support/rule-cases.ts";

/** The smallest valid prod config, with overrides. */
const prodConfig = (extra: Record<string, unknown> = {}) =>
  parseConfig({
    environment: "prod",
    docker: { host: "ssh://deploy@db" },
    backup: { storage: { provider: "aws", region: "eu-west-3" } },
    ...extra,
  });
const prod = prodConfig();

test("prod watches the audit's application containers by default, and config replaces them", () => {
  const expr = (cfg: ReturnType<typeof prodConfig>) =>
    alertRules(cfg, { stack: "prod" })
      .groups.flatMap((g) => g.rules)
      .find((r) => "alert" in r && r.alert === "ContainerNotFound")!.expr;
  assert.match(expr(prod), /container="jarvis_brain"/);
  assert.match(expr(prod), /container="jarvis_ollama"/);
  assert.doesNotMatch(expr(prod), /jarvis-api/);
  const own = prodConfig({ monitoring: { appContainers: ["assistant"] } });
  assert.match(expr(own), /container="assistant"/);
  assert.doesNotMatch(expr(own), /jarvis_brain/);
  assert.doesNotMatch(expr(parseConfig({ environment: "dev" })), /jarvis_brain/, "dev runs no application");
});

test("promtool: not found and stopped containers, store log errors, retention failures and burn rates fire as specified", () => {
  const r = runRuleTests(prod, "prod", dayTwoRuleTests(prod, "prod"));
  assert.equal(r.check.code, 0, r.check.out);
  assert.equal(r.test.code, 0, r.test.out);
  assert.match(r.test.out, /SUCCESS/);
});

test("promtool: a stricter log threshold or availability objective changes what fires", () => {
  const loose = prodConfig({ monitoring: { logErrorsAlert: 1000 } });
  const logs = dayTwoRuleTests(prod, "prod").filter((t) => t.name.startsWith("LogErrorsHigh"));
  const r = runRuleTests(loose, "prod", logs);
  assert.notEqual(r.test.code, 0, "180 errors do not pass a threshold of 1000");
  assert.match(r.test.out, /LogErrorsHigh/);
  const lax = prodConfig({ monitoring: { availabilityTarget: 0.9 } });
  const burn = dayTwoRuleTests(prod, "prod").filter((t) => t.name.startsWith("AvailabilityFastBurn"));
  assert.notEqual(
    runRuleTests(lax, "prod", burn).test.code,
    0,
    "10 minutes down do not burn a 90 % budget 14.4x",
  );
});

test("the 30-day availability and the error budget are recording rules on the per-store SLI", () => {
  // PostgreSQL down the first 5 minutes: about 94.8 % over the window, the 0.1 % budget overspent 51 times.
  const r = runRuleTests(
    prod,
    "prod",
    [
      {
        name: "PostgreSQL down 5 of 96 minutes: 94.8 % available, the budget overspent 51 times; Redis always up",
        interval: "1m",
        input_series: [
          { series: 'pg_up{job="postgres",instance="x"}', values: "0x4 1x95" },
          { series: 'redis_up{job="redis",instance="y"}', values: "1x99" },
        ],
        // The 30-day group may run before or after the SLI group in a step: 95 or 96 samples, 5 down.
        promql_expr_test: [
          {
            expr: `(${AVAILABILITY_30D} > bool 0.947) * (${AVAILABILITY_30D} < bool 0.949)`,
            eval_time: "95m",
            exp_samples: [
              { labels: `{store="postgres"}`, value: 1 },
              { labels: `{store="redis"}`, value: 0 },
            ],
          },
          {
            expr: `${AVAILABILITY_30D}{store="redis"}`,
            eval_time: "95m",
            exp_samples: [{ labels: `${AVAILABILITY_30D}{store="redis"}`, value: 1 }],
          },
          {
            expr: `(${BUDGET_REMAINING} > bool -52) * (${BUDGET_REMAINING} < bool -51)`,
            eval_time: "95m",
            exp_samples: [
              { labels: `{store="postgres"}`, value: 1 },
              { labels: `{store="redis"}`, value: 0 },
            ],
          },
        ],
      },
    ],
    { everyMinute: true },
  );
  assert.equal(r.test.code, 0, r.test.out);
});
