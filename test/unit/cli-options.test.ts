/**
 * CLI options are declared with their types and allowed values, and validated once by the runner
 * (cli/options.ts, cli/run.ts): a command's `run` sees typed values, and a bad option is a usage
 * error (exit 2) naming the option and what it accepts, before the command runs.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { defineCommand } from "../../cli/command.ts";
import { parseOptions } from "../../cli/options.ts";
import { commandHelp, runCommand } from "../../cli/run.ts";
import { UsageError } from "../../core/errors.ts";

const SPECS = {
  kind: { type: "string", choices: ["logical", "physical"] },
  jobs: { type: "number", integer: true, min: 1 },
  force: { type: "boolean" },
  store: { type: "string", multiple: true },
  upstream: { type: "string", required: true },
  listen: { type: "string", default: "127.0.0.1:8000" },
} as const;

const usage = (argv: string[], pattern: RegExp) =>
  assert.throws(
    () => parseOptions(SPECS, argv),
    (e: unknown) => e instanceof UsageError && e.exitCode === 2 && pattern.test(e.message),
  );

test("typed values: numbers converted, booleans set, repeated options collected, defaults applied", () => {
  const r = parseOptions(SPECS, [
    "postgres",
    "--kind",
    "physical",
    "--jobs=4",
    "--force",
    "--store",
    "redis",
    "--store",
    "chroma",
    "--upstream",
    "http://u",
  ]);
  assert.deepEqual(r.positionals, ["postgres"]);
  assert.deepEqual(r.values, {
    kind: "physical",
    jobs: 4,
    force: true,
    store: ["redis", "chroma"],
    upstream: "http://u",
    listen: "127.0.0.1:8000",
  });
});

test("a value outside the choices names the option and the allowed values", () => {
  usage(
    ["--upstream", "u", "--kind", "incremental"],
    /--kind must be one of logical, physical \(got "incremental"\)/,
  );
});

test("an unknown option names itself and lists the command's options", () => {
  usage(
    ["--upstream", "u", "--bogus"],
    /unknown option --bogus; this command takes: --kind logical\|physical, --jobs N/,
  );
  usage(["--upstream", "u", "-x"], /unknown option -x/);
});

test("a number option refuses words, fractions and values under its minimum", () => {
  usage(["--upstream", "u", "--jobs", "four"], /--jobs must be a whole number \(got "four"\)/);
  usage(["--upstream", "u", "--jobs", "1.5"], /--jobs must be a whole number/);
  usage(["--upstream", "u", "--jobs", "0"], /--jobs must be a whole number >= 1 \(got 0\)/);
});

test("a missing required option, a missing value and a value given to a flag are usage errors", () => {
  usage([], /--upstream VALUE is required/);
  usage(["--upstream"], /--upstream VALUE: a value is required/);
  usage(["--upstream", "u", "--force=yes"], /--force takes no value \(got "yes"\)/);
});

function capture() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (d) => (text += String(d)));
  return { stream, text: () => text };
}

const probe = defineCommand({
  name: "probe",
  summary: "echo typed options",
  usage: "jarvis-data probe [--kind logical|physical] [--jobs N]",
  options: { kind: { type: "string", choices: ["logical", "physical"] }, jobs: { type: "number", min: 1 } },
  async run(ctx) {
    // typed: no cast; `kind` is "logical" | "physical" | undefined, `jobs` number | undefined
    const kind: "logical" | "physical" | undefined = ctx.options.kind;
    const jobs: number | undefined = ctx.options.jobs;
    ctx.print({ kind, jobs, dsn: "postgresql://app:hunter2hunter2@db/jarvis", password: "hunter2hunter2" });
    return 0;
  },
});

test("the runner refuses a bad option with exit 2 before the command runs, naming the option", async () => {
  const out = capture();
  const err = capture();
  let ran = false;
  const cmd = { ...probe, run: async () => ((ran = true), 0) };
  const code = await runCommand(cmd, ["--kind", "bogus"], { stdout: out.stream, stderr: err.stream });
  assert.equal(code, 2);
  assert.equal(ran, false);
  assert.match(err.text(), /probe: --kind must be one of logical, physical \(got "bogus"\)/);
  assert.match(err.text(), /see: jarvis-data probe --help/);
});

test("the runner passes typed values, and what a command prints is redacted", async () => {
  const out = capture();
  const err = capture();
  const code = await runCommand(probe, ["--kind", "logical", "--jobs", "3", "--json"], {
    stdout: out.stream,
    stderr: err.stream,
  });
  assert.equal(code, 0, err.text());
  const printed = JSON.parse(out.text());
  assert.equal(printed.kind, "logical");
  assert.equal(printed.jobs, 3);
  assert.ok(!out.text().includes("hunter2hunter2"), out.text());
  assert.equal(printed.dsn, "postgresql://app:[secret]@db/jarvis");
});

test("help lists each option with its allowed values", () => {
  const h = commandHelp(probe);
  assert.match(h, /--kind logical\|physical/);
  assert.match(h, /--jobs N/);
  assert.match(h, /--json/);
});
