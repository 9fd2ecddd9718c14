/**
 * Under Pulumi's mock engine: a one-shot job whose create fails is not recorded, and nothing that
 * depends on it is created; what came before it is. This is the engine-side half of "a failed job
 * fails the `up` and runs again": a resource that is not recorded is created, so run, by the next
 * `up` (a docker provider container, by contrast, was recorded with its failed exit code).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const ROOT = resolve(import.meta.dirname, "../..");

async function upWithFailing(stack: string, failing: string) {
  // The child exits 1 when Pulumi's runtime sees the failed registration's promises left pending:
  // its JSON report is on stdout either way.
  const stdout = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "test/support/failing-resource.ts", stack, failing],
    { cwd: ROOT, maxBuffer: 16 << 20 },
  ).then(
    (r) => r.stdout,
    (e: { stdout?: string }) => e.stdout ?? "",
  );
  return JSON.parse(stdout) as {
    attempted: string[];
    recorded: { type: string; name: string }[];
    errors: string[];
  };
}

// The three runs start at once: each waits for the program to go quiet, so they overlap well.
const runs = {
  dev: upWithFailing("dev", "jarvis-dev-migrations-job"),
  prod: upWithFailing("prod", "jarvis-prod-migrations-job"),
  roles: upWithFailing("dev", "jarvis-dev-postgres-roles"),
};

for (const stack of ["dev", "prod"] as const) {
  test(`${stack}: a failed migration job is not recorded, and neither cron nor the agent is created`, async () => {
    const failing = `jarvis-${stack}-migrations-job`;
    const run = await runs[stack];
    const names = run.recorded.map((r) => r.name);
    assert.ok(run.attempted.includes(failing), "the migration job was attempted");
    assert.ok(!names.includes(failing), "the failed job is not recorded");
    for (const before of [`jarvis-${stack}-postgres`, `jarvis-${stack}-postgres-roles`])
      assert.ok(names.includes(before), `${before}, which precedes it, is created`);
    for (const dependent of [`jarvis-${stack}-cron-job`, `jarvis-${stack}-ops-agent`])
      assert.ok(!run.attempted.includes(dependent), `${dependent} is not created after the failed job`);
    assert.ok(
      !names.some((n) => n.startsWith(`jarvis-${stack}-ops-agent`)),
      "no resource of the ops agent is created",
    );
    assert.ok(
      run.errors.some((e) => e.includes(`${failing} failed`)),
      "the failure surfaces: the `up` fails with the job's error",
    );
  });
}

test("a failed roles job stops the migrations, cron and the agent", async () => {
  const run = await runs.roles;
  const names = run.recorded.map((r) => r.name);
  assert.ok(run.attempted.includes("jarvis-dev-postgres-roles"), "the roles job was attempted");
  assert.ok(!names.includes("jarvis-dev-postgres-roles"), "the failed job is not recorded");
  for (const dependent of ["jarvis-dev-migrations-job", "jarvis-dev-cron-job", "jarvis-dev-ops-agent"])
    assert.ok(!run.attempted.includes(dependent), `${dependent} is not created after the failed job`);
  assert.ok(!names.some((n) => n.startsWith("jarvis-dev-ops-agent")), "no resource of the ops agent");
  // The lifecycle jobs need the buckets, not the roles: they may run, and nothing else of the jobs does.
  const jobs = run.recorded.filter((r) => r.type === "command:local:Command").map((r) => r.name);
  assert.deepEqual(
    jobs.filter((n) => !/^jarvis-dev-lifecycle-\d+$/.test(n)),
    [],
  );
});
