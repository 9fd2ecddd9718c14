/**
 * The backup, restore, drill, verify, retention, status, agent and storage commands declare their
 * options (cli/command.ts): a value outside the declared ones is refused by the runner with exit 2,
 * naming the option and what it accepts, before the command runs. No server: the refusals happen
 * before any connection.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import type { Command } from "../../cli/command.ts";
import { parseOptions } from "../../cli/options.ts";
import { commandHelp, runCommand } from "../../cli/run.ts";
import { agent } from "../../cli/commands/agent.ts";
import { backup } from "../../cli/commands/backup.ts";
import { drillCommand } from "../../cli/commands/drill.ts";
import { restore } from "../../cli/commands/restore.ts";
import { retentionRun } from "../../cli/commands/retention.ts";
import { status } from "../../cli/commands/status.ts";
import { storageLifecycleCheck } from "../../cli/commands/storage.ts";
import { verify } from "../../cli/commands/verify.ts";

function capture() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (d) => (text += String(d)));
  return { stream, text: () => text };
}

/** Runs `command` with its `run` replaced unless `real`; returns the status, stderr and whether run started. */
async function invoke(command: Command, argv: string[], real = false) {
  let ran = false;
  const cmd: Command = real ? command : { ...command, run: async () => ((ran = true), 0) };
  const out = capture();
  const err = capture();
  const code = await runCommand(cmd, argv, { stdout: out.stream, stderr: err.stream });
  return { code, stderr: err.text(), ran };
}

async function refused(command: Command, argv: string[], pattern: RegExp) {
  const r = await invoke(command, argv);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.ran, false, "the command must not run");
  assert.match(r.stderr, pattern);
  assert.match(r.stderr, new RegExp(`see: jarvis-data ${command.name} --help`));
}

test("backup refuses a --kind or --type outside the declared ones, naming the allowed values", async () => {
  await refused(
    backup,
    ["postgres", "--kind", "nope"],
    /backup: --kind must be one of logical, physical \(got "nope"\)/,
  );
  await refused(
    backup,
    ["postgres", "--kind", "physical", "--type", "weekly"],
    /--type must be one of full, diff, incr \(got "weekly"\)/,
  );
  const ok = await invoke(backup, ["postgres", "--kind", "physical", "--type", "diff"]);
  assert.deepEqual([ok.code, ok.ran], [0, true], ok.stderr);
});

test("backup's options arrive typed, --type defaulting to full", () => {
  const { values } = parseOptions(backup.options!, ["redis"]);
  assert.deepEqual(values, { type: "full" });
});

test("drill, verify and restore refuse an unknown store or kind", async () => {
  await refused(
    drillCommand,
    ["--store", "mysql"],
    /--store must be one of postgres, redis, chroma, all \(got "mysql"\)/,
  );
  await refused(verify, ["postgres", "--kind", "snapshot"], /--kind must be one of logical, physical/);
  await refused(
    restore,
    ["postgres", "--target", "postgresql://h/db", "--kind", "dump"],
    /--kind must be one of logical, physical \(got "dump"\)/,
  );
  assert.deepEqual(parseOptions(drillCommand.options!, []).values, { store: "all" });
});

test("restore without --target and storage lifecycle without --bucket are usage errors", async () => {
  await refused(restore, ["postgres"], /restore: --target VALUE is required/);
  await refused(storageLifecycleCheck, ["--rules-file", "-"], /--bucket VALUE is required/);
});

test("retention run accepts only chroma, redis and postgres for each --store", async () => {
  await refused(
    retentionRun,
    ["dev", "--store", "chroma", "--store", "mysql"],
    /--store must be one of chroma, redis, postgres \(got "mysql"\)/,
  );
  const { values } = parseOptions(retentionRun.options!, ["--store", "redis", "--store", "postgres"]);
  assert.deepEqual(values.store, ["redis", "postgres"]);
});

test("status and agent: numbers are checked, and the bounds the validator cannot express too", async () => {
  await refused(status, ["--timeout", "soon"], /--timeout must be a number \(got "soon"\)/);
  assert.deepEqual(parseOptions(status.options!, ["--timeout", "2.5"]).values, { timeout: 2.5 });
  const zero = await invoke(status, ["--timeout", "0"], true);
  assert.equal(zero.code, 2, zero.stderr);
  assert.match(zero.stderr, /--timeout must be a positive number of seconds \(got 0\)/);

  await refused(agent, ["--port", "http"], /--port must be a whole number \(got "http"\)/);
  await refused(agent, ["--port", "-1"], /--port must be a whole number >= 0/);
  const big = await invoke(agent, ["--port", "70000"], true);
  assert.equal(big.code, 2, big.stderr);
  assert.match(big.stderr, /--port must be at most 65535 \(got 70000\)/);
  assert.deepEqual(parseOptions(agent.options!, []).values, { host: "127.0.0.1", port: 9187 });
});

test("help lists the declared choices and defaults", () => {
  const h = commandHelp(backup);
  assert.match(h, /--kind logical\|physical/);
  assert.match(h, /--type full\|diff\|incr .*\(default full\)/);
  assert.match(commandHelp(retentionRun), /--store chroma\|redis\|postgres/);
  assert.match(commandHelp(agent), /--port N .*\(default 9187\)/);
});
