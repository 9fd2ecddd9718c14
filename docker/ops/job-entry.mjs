#!/usr/bin/env node
// The entry of the stack's one-shot jobs (settings/jobs.ts): reads the job's files as JSON on stdin
// ([{file, content, mode}]), writes each one (0400 secrets, 0444 public) on the tmpfs the job
// mounted, then runs the command given as arguments and exits with its status. Secrets therefore
// never sit in the environment, on a command line or in an image layer.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import process from "node:process";

function fail(message) {
  process.stderr.write(`job-entry: ${message}\n`);
  process.exit(64);
}

const [command, ...args] = process.argv.slice(2);
if (!command) fail("usage: job-entry.mjs COMMAND [ARG...] < files.json");
let files;
try {
  const text = fs.readFileSync(0, "utf8");
  files = text.trim() ? JSON.parse(text) : [];
} catch (e) {
  fail(`stdin is not the job's files as JSON: ${e.message}`);
}
if (!Array.isArray(files)) fail("stdin must be a JSON array of {file, content, mode}");
for (const f of files) {
  if (typeof f.file !== "string" || !path.isAbsolute(f.file) || typeof f.content !== "string")
    fail(`bad file entry ${JSON.stringify(f.file)}: needs an absolute file and a string content`);
  fs.mkdirSync(path.dirname(f.file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(f.file, f.content, { mode: f.mode === 0o444 ? 0o444 : 0o400 });
}
const run = spawnSync(command, args, { stdio: ["ignore", "inherit", "inherit"] });
if (run.error) fail(`cannot run ${command}: ${run.error.message}`);
process.exit(run.status ?? 1);
